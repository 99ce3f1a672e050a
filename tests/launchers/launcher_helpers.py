"""Helpers shared by the launcher tests (a uniquely named module: several test
folders have a conftest.py, so tests import helpers from here, not from conftest)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def slurm_env() -> dict[str, str]:
    """Environment for subprocesses that talk to the test cluster, outside any allocation."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SLURM_") or k == "SLURM_CONF"}


# A tiny DCGAN run (seconds on CPU) for the end-to-end tests through `mgx run`.
TINY_CONFIG = """
model = dict(type='DCGAN', latent_dim=8, image_size=16, channels=3, base_channels=8)
train_dataloader = dict(
    batch_size=16,
    dataset=dict(type='DigitsDataset', image_size=16, split='train', pipeline=[dict(type='PackInputs')]),
    sampler=dict(type='InfiniteSampler', shuffle=True),
    drop_last=True)
optim_wrapper = dict(
    generator=dict(optimizer=dict(type='Adam', lr=1e-3, betas=(0.5, 0.999))),
    discriminator=dict(optimizer=dict(type='Adam', lr=1e-3, betas=(0.5, 0.999))))
train_cfg = dict(by_epoch=False, max_iters=8, val_begin=1, val_interval=100000)
val_dataloader = dict(
    batch_size=32,
    dataset=dict(type='DigitsDataset', image_size=16, split='val', pipeline=[dict(type='PackInputs')]),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Evaluator',
                     metrics=[dict(type='SWD', prefix='SWD', fake_nums=64, image_shape=(3, 16, 16))])
test_dataloader = val_dataloader
test_evaluator = val_evaluator
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=10, max_keep_ckpts=-1))
randomness = dict(seed=7, deterministic=True)
"""


def mgx_env(**extra: str) -> dict[str, str]:
    """Environment for `mgx` subprocesses: outside any Slurm allocation, one thread per
    process (identical numerics for 1 or 2 processes on any core count)."""
    env = slurm_env()
    env["OMP_NUM_THREADS"] = "1"
    env.update(extra)
    return env


def mgx(*args: str) -> list[str]:
    return [sys.executable, "-m", "mgx.cli", *args]


E2E_MAX_ITERS = 100  # long enough to interrupt a Slurm run mid-training, a few seconds of compute
E2E_TRAIN_ARGS = ["--no-track", "--cfg-options", f"train_cfg.max_iters={E2E_MAX_ITERS}"]


def run_mgx(args, cwd, timeout=300, **env) -> subprocess.CompletedProcess:
    return subprocess.run(mgx(*args), cwd=cwd, env=mgx_env(**env), capture_output=True, text=True,
                          timeout=timeout)


def metric_line_of(output: str) -> str:
    """The metrics of the engine's `Test ...` line, without its timing."""
    lines = [line.split("INFO - ", 1)[-1].rsplit("(", 1)[0].strip() for line in output.splitlines()
             if "Test " in line and "SWD/avg" in line]
    assert lines, output[-2000:]
    return lines[-1]


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _job_status(job_id):
    from mgx.plugins.launchers import slurm_commands

    return slurm_commands.job_status(job_id)


def start_requeued_now(job_id):
    """Tests only: skip the ~120 s BeginTime hold Slurm puts on a requeued job.

    Not at once: slurmd refuses to launch a job whose new credential carries the same
    second as the revocation of its previous run ("Job credential revoked" -> the job
    FAILS). Two seconds after the requeue is safe."""
    def pending_again():
        status = _job_status(job_id)
        return status and status.restarts >= 1 and status.state == "PENDING"
    wait_for(pending_again, 60, f"job {job_id} to be requeued")
    time.sleep(2)
    subprocess.run(["scontrol", "update", f"JobId={job_id}", "StartTime=now"], check=True)


def runs_in(workspace) -> list:
    """The MLflow runs of a workspace's embedded store (every experiment)."""
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{workspace / 'mlflow.db'}")
    experiments = [e.experiment_id for e in client.search_experiments()]
    return client.search_runs(experiments)
