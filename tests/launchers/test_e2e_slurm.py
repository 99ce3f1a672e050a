"""`mgx run ... --launcher slurm` end to end on the one-node test cluster: a 2-task
training job interrupted mid-run (scontrol requeue, or USR1 as before a time limit)
resumes and ends with the same weights as an uninterrupted run; `mgx run test`
through Slurm prints the same metrics as local."""
import json
import re
import subprocess
import time

import pytest
import torch

from mgx.core.engine.checkpoint import weights_of
from mgx.plugins.launchers import slurm_commands

from launcher_helpers import (E2E_MAX_ITERS as MAX_ITERS, E2E_TRAIN_ARGS as CFG, metric_line_of, run_mgx as _run,
                              runs_in, start_requeued_now)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("slurm_cluster")]

SLURM = ["--launcher", "slurm", "--partition", "dev", "--gpus", "2", "--cpus-per-task", "1"]


def _wait_for_log(job_id, log, pattern, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and re.search(pattern, log.read_text()):
            return
        status = slurm_commands.job_status(job_id)
        assert status is not None and not status.finished, \
            f"job ended before {pattern!r}: {log.read_text() if log.exists() else '(no log)'}"
        time.sleep(0.05)
    raise AssertionError(f"{pattern!r} never appeared in {log}")


def _job_finished(job_id, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = slurm_commands.job_status(job_id)
        if status.finished:
            return status
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


@pytest.mark.timeout(400)
@pytest.mark.parametrize("interruption", ["scontrol-requeue", "usr1-before-time-limit"])
def test_interrupted_job_resumes_to_the_same_weights(interruption, dist_trained, tiny_config, tmp_path):
    _, trained, reference = dist_trained
    assert trained.returncode == 0, trained.stderr[-3000:]
    work = tmp_path / "work"
    tracked = [arg for arg in CFG if arg != "--no-track"]  # into tmp_path/mlflow.db
    submitted = _run(["run", "train", str(tiny_config), *SLURM, "--job-name", "rq", "--work-dir", str(work),
                      *tracked], cwd=tmp_path)
    assert submitted.returncode == 0, submitted.stderr
    job_id = re.search(r"Submitted Slurm job (\d+)", submitted.stdout).group(1)
    log = work / f"rq-{job_id}.out"
    assert f"log: {log}" in submitted.stdout and list(work.glob("rq_train_*.sbatch"))

    _wait_for_log(job_id, log, rf"Iter \[5/{MAX_ITERS}\]", timeout=200)
    if interruption == "scontrol-requeue":
        subprocess.run(["scontrol", "requeue", job_id], check=True)
    else:  # what --signal=B:USR1@grace does: USR1 to the batch shell, which forwards it
        subprocess.run(["scancel", "--signal=USR1", "--batch", job_id], check=True)
    start_requeued_now(job_id)
    status = _job_finished(job_id, timeout=250)
    text = log.read_text()
    assert status.state == "COMPLETED" and status.exit_code == 0, text[-4000:]
    assert status.restarts == 1
    assert "Slurm restart 1" in text and "resumed from" in text
    if interruption != "scontrol-requeue":
        assert "requeued Slurm job" in text  # rank 0 asked Slurm itself, after the checkpoint
    expected = weights_of(torch.load(reference, map_location="cpu", weights_only=True))
    final = weights_of(torch.load(work / f"iter_{MAX_ITERS}.pth", map_location="cpu", weights_only=True))
    assert expected.keys() == final.keys()
    for key in expected:
        assert torch.equal(expected[key], final[key]), key
    runs = runs_in(tmp_path)
    assert len(runs) == 1, "the requeued job resumed into the same MLflow run"
    (run,) = runs
    assert run.info.status == "FINISHED" and run.data.tags["mgx.launcher"] == "slurm"
    assert run.data.tags["mgx.slurm.job_id"] == job_id and "mgx.resume_points" in run.data.tags


@pytest.mark.timeout(400)
def test_slurm_test_prints_the_same_metrics_as_local(dist_trained, local_test_result, tiny_config, tmp_path):
    _, _, checkpoint = dist_trained
    local_line, local_values = local_test_result
    slurm = _run(["run", "test", str(tiny_config), str(checkpoint), *SLURM, "--job-name", "evaljob", "--wait",
                  "--work-dir", str(tmp_path), "--no-track"], cwd=tmp_path)
    assert slurm.returncode == 0, slurm.stdout[-3000:] + slurm.stderr[-2000:]
    assert "has no GPUs" in slurm.stderr
    assert metric_line_of(slurm.stdout) == local_line
    slurm_values = json.loads((tmp_path / "test_results.json").read_text())["metrics"]
    assert local_values and slurm_values == pytest.approx(local_values, rel=1e-6)
