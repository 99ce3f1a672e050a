"""`mgx sweep --launcher slurm` on the one-node test cluster: ONE job array whose tasks are
the points; a task requeued mid-training resumes into its own child run and the sweep ends
with three FINISHED children (and a FINISHED parent). An array larger than the cluster
allows is refused with Slurm's message, exit 2, and no parent run left RUNNING."""
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from launcher_helpers import TINY_CONFIG, run_mgx, runs_in, start_requeued_now, wait_for

pytestmark = [pytest.mark.usefixtures("slurm_cluster")]

SLURM = ["--launcher", "slurm", "--partition", "dev", "--cpus-per-task", "1"]
# long enough that the requeue (a few seconds after iteration 5 is logged) lands mid-training on a fast,
# quiet machine: 61 iterations took under a second there and finished first
MAX_ITERS = (600, 601, 602)


def _sweep_runs(workspace):
    runs = runs_in(workspace)
    parents = [r for r in runs if r.data.tags.get("mgx.sweep") == "parent"]
    return parents, [r for r in runs if r.data.tags.get("mlflow.parentRunId")]


def _sweep_on_slurm(tmp_path, grid: str, *extra: str, **env: str):
    """`mgx sweep` of the tiny config over ``grid`` as a Slurm array, two tasks at a time, into
    tmp_path/sweep; the completed process."""
    config = tmp_path / "tiny.py"
    config.write_text(TINY_CONFIG)
    return run_mgx(["sweep", str(config), "--grid", grid, *SLURM, "--max-parallel", "2",
                    "--work-dir", str(tmp_path / "sweep"), *extra], cwd=tmp_path, **env)


# the engine tests' plugin (its PauseAt run hook), for the sweep's tasks too
ENGINE_PLUGIN = dict(MGX_PLUGINS="engine_test_plugin", PYTHONPATH=os.pathsep.join(
    filter(None, [str(Path(__file__).resolve().parents[1] / "engine"), os.environ.get("PYTHONPATH")])))


def _wait_for_the_parent_to_end(tmp_path) -> None:
    def parent_ended():
        parents, _ = _sweep_runs(tmp_path)
        return parents and parents[0].info.status != "RUNNING"
    wait_for(parent_ended, 420, "the sweep's parent run to end")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_three_point_array_with_a_requeued_task_ends_with_three_finished_children(tmp_path):
    grid = f"train_cfg.max_iters={list(MAX_ITERS)}"
    sweep_dir = tmp_path / "sweep"
    # point 1 holds after iteration 6 (5 is logged) until the requeue's SIGTERM arrives: the requeue lands mid-training
    # on any machine (a loaded one logged iteration 5 after the whole run had finished)
    pause = (f"custom_hooks=[dict(type='PauseAt', iteration=6, once_file='{tmp_path / 'paused'}', "
             "work_dir_suffix='point_001')]")
    submitted = _sweep_on_slurm(tmp_path, grid, "--cfg-options", pause, **ENGINE_PLUGIN)
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    job_id = re.search(r"Submitted Slurm job array (\d+) \(3 point", submitted.stdout).group(1)
    (script,) = sweep_dir.glob("*.sbatch")
    assert "#SBATCH --array=0-2%2" in script.read_text()
    twice = _sweep_on_slurm(tmp_path, grid, "--cfg-options", pause, **ENGINE_PLUGIN)
    assert twice.returncode == 2 and f"job array {job_id} still has" in twice.stderr, twice.stderr

    task = f"{job_id}_1"
    log = sweep_dir / f"slurm-{job_id}_1.out"
    wait_for(lambda: log.exists() and re.search(rf"Iter \[5/{MAX_ITERS[1]}\]", log.read_text()), 300,
             "point 1 to be training")
    subprocess.run(["scontrol", "requeue", task], check=True)
    start_requeued_now(task)

    _wait_for_the_parent_to_end(tmp_path)
    parents, children = _sweep_runs(tmp_path)
    text = log.read_text()
    assert "restart 1" in text and "resumed from" in text, text[-3000:]
    (parent,) = parents
    assert parent.info.status == "FINISHED"
    assert len(children) == 3, "the requeued task resumed into its own child run"
    assert all(r.info.status == "FINISHED" for r in children)
    assert all(r.data.tags["mlflow.parentRunId"] == parent.info.run_id for r in children)
    by_point = {r.data.tags["mgx.sweep.point"]: r for r in children}
    assert sorted(by_point) == ["0", "1", "2"]
    assert [int(by_point[p].data.params["train_cfg.max_iters"]) for p in "012"] == list(MAX_ITERS)
    assert "mgx.resume_points" in by_point["1"].data.tags
    assert all(r.data.tags["mgx.launcher"] == "slurm" for r in children)
    assert len({r.data.tags["mgx.slurm.job_id"] for r in children}) == 3  # each array task is its own job
    for point, iters in zip("012", MAX_ITERS):
        assert (sweep_dir / f"point_00{point}" / f"iter_{iters}.pth").exists()

    # the same command again: nothing to submit
    again = _sweep_on_slurm(tmp_path, grid, "--cfg-options", pause, **ENGINE_PLUGIN)
    assert again.returncode == 0 and "skipping 3 finished point(s)" in again.stdout, again.stderr
    assert "Submitted" not in again.stdout


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_failed_point_ends_the_parent_failed_once_no_task_is_left(tmp_path):
    # the parent used to stay RUNNING forever: only a task that succeeded asked to end it
    submitted = _sweep_on_slurm(tmp_path, "optim_wrapper.generator.optimizer.lr=[0.001,-1]")  # Adam refuses -1
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    job_id = re.search(r"Submitted Slurm job array (\d+)", submitted.stdout).group(1)
    _wait_for_the_parent_to_end(tmp_path)
    (parent,), children = _sweep_runs(tmp_path)
    assert parent.info.status == "FAILED"
    assert [r.data.tags["mgx.sweep.point"] for r in children if r.info.status == "FINISHED"] == ["0"]
    logs = "".join(path.read_text() for path in (tmp_path / "sweep").glob(f"slurm-{job_id}_*.out"))
    assert "Invalid learning rate: -1" in logs
    assert "point(s) 1 did not finish" in logs and "ended FAILED" in logs, logs[-3000:]


def _max_array_size() -> int:
    from mgx.plugins.launchers.slurm_array import max_array_size

    size = max_array_size()
    assert size is not None
    return size


@pytest.mark.slow  # ~10 s alone; minutes on a loaded 2-core machine (mlflow imports, sbatch)
@pytest.mark.timeout(300)
def test_an_array_larger_than_the_cluster_allows_is_refused_with_slurms_message(tmp_path):
    config = tmp_path / "tiny.py"
    config.write_text(TINY_CONFIG)
    limit = _max_array_size()
    values = ",".join(str(i) for i in range(1, limit + 2))  # indices 0..limit: one past the largest allowed
    started = time.monotonic()
    result = run_mgx(["sweep", str(config), "--grid", f"train_cfg.val_interval=[{values}]", *SLURM,
                      "--work-dir", str(tmp_path / "big")], cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Slurm refused the sweep's job array" in result.stderr and "sbatch: error" in result.stderr
    assert f"MaxArraySize is {limit}" in result.stderr and "Traceback" not in result.stderr
    parents, children = _sweep_runs(tmp_path)
    assert parents == [] and children == []  # the parent made for the submission was removed
    assert not (tmp_path / "big").exists()
    assert time.monotonic() - started < 200
