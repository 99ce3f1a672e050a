"""`mgx runs list`, `mgx runs compare` (text + plot), error paths."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from mgx.cli.main import cli

from tracking_helpers import make_two_runs


@pytest.mark.timeout(120)
def test_runs_list_and_compare(workspace, tmp_path):
    alpha, beta = make_two_runs(workspace, tmp_path)
    runner = CliRunner()
    listed = runner.invoke(cli, ["runs", "list", "--workspace", str(workspace)])
    assert listed.exit_code == 0, listed.output
    assert alpha.run_id in listed.output and "beta-run" in listed.output and "FINISHED" in listed.output
    # at 80 columns (a terminal; a pipe without COLUMNS keeps the whole table): short ids that
    # compare accepts, shorter start times, the one experiment not repeated
    narrow = runner.invoke(cli, ["runs", "list", "--workspace", str(workspace)], env={"COLUMNS": "80"})
    assert narrow.exit_code == 0, narrow.output
    assert max(len(line) for line in narrow.output.splitlines()) <= 80, narrow.output
    assert alpha.run_id[:8] in narrow.output and alpha.run_id not in narrow.output
    tiny = runner.invoke(cli, ["runs", "list", "--workspace", str(workspace)], env={"COLUMNS": "50"})
    assert max(len(line) for line in tiny.output.splitlines()) <= 58, tiny.output  # names shortened to "NAME"
    unknown_exp = runner.invoke(cli, ["runs", "list", "--workspace", str(workspace), "--experiment", "nope"])
    assert unknown_exp.exit_code == 2 and "nope" in unknown_exp.output

    plot = tmp_path / "curves.png"
    compared = runner.invoke(cli, ["runs", "compare", alpha.run_id[:8], "beta-run", "--workspace", str(workspace),
                                   "--plot", str(plot)])
    assert compared.exit_code == 0, compared.output
    out = compared.output
    assert "lr" in out and "0.01" in out and "batch" not in out.split("metrics")[0]  # only differing params
    lines = out.splitlines()
    loss = next(i for i, line in enumerate(lines) if line.startswith("loss "))
    assert lines[loss].split()[1:3] == ["final", "0.010989@90"]  # alpha loss at step 90: 1/91
    psnr = next(i for i, line in enumerate(lines) if line.startswith("PSNR/psnr "))
    assert lines[psnr + 1].split()[0] == "best(max)" and "38@90" in lines[psnr + 1]  # PSNR: higher is better
    assert max(len(line) for line in lines if not line.startswith("curves written")) <= 80, out  # fits a terminal
    assert plot.stat().st_size > 5000

    missing = runner.invoke(cli, ["runs", "compare", alpha.run_id, "f" * 32, "--workspace", str(workspace)])
    assert missing.exit_code == 2 and "unknown run 'ffffffff" in missing.output
    no_store = runner.invoke(cli, ["runs", "list", "--workspace", str(tmp_path / "empty")])
    assert no_store.exit_code == 2 and "no tracking store" in no_store.output
