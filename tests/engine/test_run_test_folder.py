"""`mgx run test CFG CKPT` without --work-dir writes beside the checkpoint's run (its test/ folder),
never into the config-named folder another training of the same config may be using, and prints
its MLflow run id."""
from __future__ import annotations

import json
import re
import shutil

import pytest
from click.testing import CliRunner

from engine_helpers import write_tiny_config
from mgx.cli.context import plugin_manager
from mgx.cli.main import cli


@pytest.fixture(autouse=True)
def full_cli_plugins():
    """In-process `mgx` after a test that activated only some plugins: the CLI activates all of them again."""
    plugin_manager.cache_clear()
    yield
    plugin_manager.cache_clear()


def _snapshot(folder):
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.stat().st_size) for p in folder.rglob("*")}


def test_run_test_writes_beside_the_checkpoint_and_prints_its_run_id(tmp_path, monkeypatch):
    for name in ("MLFLOW_TRACKING_URI", "MGX_WORKSPACE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MGX_WORKSPACE", str(tmp_path / "ws"))
    config = write_tiny_config(tmp_path, max_iters=1, val_interval=1)
    trained = CliRunner().invoke(cli, ["run", "train", str(config), "--work-dir", str(tmp_path / "first"),
                                      "--no-track"])
    assert trained.exit_code == 0, trained.output[-3000:]
    checkpoint = tmp_path / "first" / "iter_1.pth"
    assert checkpoint.is_file(), sorted(p.name for p in (tmp_path / "first").iterdir())
    # elsewhere, a second training of the same config in its config-named folder
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(tmp_path / "first", elsewhere / "work_dirs" / "tiny")
    before = _snapshot(elsewhere)
    monkeypatch.chdir(elsewhere)
    tested = CliRunner().invoke(cli, ["run", "test", str(config), str(checkpoint)])
    assert tested.exit_code == 0, tested.output[-3000:]
    assert _snapshot(elsewhere) == before  # the other training's folder untouched, nothing new in the cwd
    results = tmp_path / "first" / "test" / "test_results.json"
    assert json.loads(results.read_text())["checkpoint"] == str(checkpoint)
    assert list((tmp_path / "first" / "test").glob("*.log"))
    printed = re.search(r"MLflow run ([0-9a-f]{32})", tested.output)
    assert printed, tested.output[-3000:]
    listed = CliRunner().invoke(cli, ["runs", "list", "--workspace", str(tmp_path / "ws")])
    assert printed.group(1) in listed.output


def test_run_test_without_a_checkpoint_asks_for_one_unless_the_config_holds_the_weights(tmp_path, monkeypatch):
    config = write_tiny_config(tmp_path, max_iters=1, val_interval=1)
    monkeypatch.chdir(tmp_path)
    tested = CliRunner().invoke(cli, ["run", "test", str(config), "--work-dir", str(tmp_path / "t"), "--no-track"])
    assert tested.exit_code == 2, tested.output[-3000:]
    assert "give a CHECKPOINT" in tested.output and "come from training" in tested.output
