"""`mgx sweep` reaches launchers only through the launcher contract: a launcher with the
JobArrayLauncher methods runs a sweep as one job array (slurm does), any other runs it point
by point; the sweep's flags are checked by the launcher's accepted_options (no process starts)."""
from __future__ import annotations

from pathlib import Path

import pytest

from mgx.core.distributed.launch import JobArrayLauncher, JobArrayRequest
from mgx.plugins.launchers.dist import DistLauncher
from mgx.plugins.launchers.local import LocalLauncher
from mgx.plugins.launchers.slurm import SlurmLauncher

REPO = Path(__file__).resolve().parents[2]


def test_slurm_runs_job_arrays_and_local_and_dist_do_not():
    assert isinstance(SlurmLauncher(), JobArrayLauncher)
    assert not isinstance(LocalLauncher(), JobArrayLauncher)
    assert not isinstance(DistLauncher(), JobArrayLauncher)


def test_slurm_refuses_an_array_without_slurm_and_leaves_no_script(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "no-slurm-here"))
    request = JobArrayRequest(name="s", task_args={0: ["--work-dir", "w0"]}, train_command=["python"],
                              environment={}, finish_command=["true"], ended_dir=tmp_path / "ended", folder=tmp_path)
    with pytest.raises(Exception, match="Slurm is missing: `sbatch`"):
        SlurmLauncher().submit_array(request)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("launcher_args, message", [
    (["--launcher", "local", "--gpus", "2"], "--launcher local does not take --gpus"),
    (["--launcher", "dist", "--partition", "dev"], "--launcher dist does not take --partition"),
    (["--launcher", "no-such-launcher"], "no-such-launcher"),
])
def test_the_sweeps_launcher_flags_are_checked_by_the_launcher(tmp_path, launcher_args, message):
    from click.testing import CliRunner

    from mgx.cli.context import plugin_manager
    from mgx.cli.main import cli

    plugin_manager.cache_clear()
    try:
        sweep = CliRunner().invoke(cli, ["sweep", str(REPO / "configs" / "example_config.py"), "--grid",
                                         "train_cfg.max_iters=[1,2]", "--work-dir", str(tmp_path / "sweep"),
                                         *launcher_args], prog_name="mgx")
    finally:
        plugin_manager.cache_clear()
    assert sweep.exit_code == 2, sweep.stderr[-2000:]
    assert message in sweep.stderr
    assert not (tmp_path / "sweep").exists()
