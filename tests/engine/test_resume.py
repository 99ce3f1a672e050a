"""Resume is exact: a run killed with SIGKILL (even mid-checkpoint-write) and resumed
ends bit-identical to an uninterrupted run (CPU, --deterministic)."""
from __future__ import annotations

import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from engine_helpers import mgx_command, mgx_env, run_mgx, write_tiny_config
from mlflow_runs import every_run
from nested_equal import assert_identical

MAX_ITERS = 16


def _final_state(work_dir: Path) -> dict:
    return torch.load(work_dir / f"iter_{MAX_ITERS}.pth", map_location="cpu", weights_only=True)


def _straight_run(tmp_path: Path, config: Path) -> dict:
    straight = tmp_path / "straight"
    result = run_mgx("run", "train", str(config), "--work-dir", str(straight), "--deterministic", "--no-track",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return _final_state(straight)


def _kill_when(process: subprocess.Popen, condition, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"run ended before the kill point: {process.stderr.read()}"
        assert time.monotonic() < deadline, "kill point never reached"
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def _resume_and_compare(tmp_path: Path, config: Path, work_dir: Path, expected: dict) -> None:
    resumed = run_mgx("run", "train", str(config), "--work-dir", str(work_dir), "--deterministic", "--no-track",
                      "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from" in resumed.stderr
    final = _final_state(work_dir)
    for part in ("model", "ema", "optimizers", "schedulers"):
        assert_identical(final[part], expected[part], part)
    assert final["meta"]["iteration"] == expected["meta"]["iteration"] == MAX_ITERS


@pytest.mark.timeout(600)
def test_sigkill_at_random_iteration_then_resume_is_bit_identical(tmp_path: Path) -> None:
    config = write_tiny_config(tmp_path, max_iters=MAX_ITERS, val_interval=5, ckpt_interval=1)
    expected = _straight_run(tmp_path, config)

    work_dir = tmp_path / "killed"
    kill_after = random.Random().randint(3, MAX_ITERS - 4)
    process = subprocess.Popen(mgx_command("run", "train", str(config), "--work-dir", str(work_dir),
                                           "--deterministic", "--no-track"),
                               cwd=tmp_path, env=mgx_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _kill_when(process, lambda: (work_dir / f"iter_{kill_after}.pth").exists())
    assert process.returncode == -signal.SIGKILL
    assert not (work_dir / f"iter_{MAX_ITERS}.pth").exists()
    _resume_and_compare(tmp_path, config, work_dir, expected)


@pytest.mark.timeout(600)
def test_sigkill_during_a_checkpoint_write_keeps_the_previous_one(tmp_path: Path) -> None:
    # A run hook makes each checkpoint ~64 MB, so the write window is wide enough to land in.
    bulky = "\ncustom_hooks = [dict(type='BulkyCheckpoints', megabytes=64)]\n"
    config = write_tiny_config(tmp_path, max_iters=MAX_ITERS, val_interval=5, ckpt_interval=4, extra=bulky)
    expected = _straight_run(tmp_path, config)

    work_dir = tmp_path / "killed"
    process = subprocess.Popen(mgx_command("run", "train", str(config), "--work-dir", str(work_dir),
                                           "--deterministic", "--no-track"),
                               cwd=tmp_path, env=mgx_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # kill while the second periodic checkpoint (iter_8) is being written
    _kill_when(process, lambda: (work_dir / "iter_4.pth").exists() and any(work_dir.glob("iter_8.pth.tmp-*")))
    assert not (work_dir / "iter_8.pth").exists(), "the kill landed after the write finished"
    assert list(work_dir.glob("*.tmp-*")), "a partial temp file should be left behind"
    previous = torch.load(work_dir / "iter_4.pth", map_location="cpu", weights_only=True)
    assert previous["meta"]["iteration"] == 4
    _resume_and_compare(tmp_path, config, work_dir, expected)
    assert not list(work_dir.glob("*.tmp-*")), "resume cleans up stale temp files"


@pytest.mark.timeout(300)
def test_sigterm_saves_a_checkpoint_and_resume_continues(tmp_path: Path) -> None:
    config = write_tiny_config(tmp_path, max_iters=100000, val_interval=100000, ckpt_interval=1000)
    work_dir = tmp_path / "stopped"
    process = subprocess.Popen(mgx_command("run", "train", str(config), "--work-dir", str(work_dir),
                                           "--cfg-options", "default_hooks.logger.interval=1"),
                               cwd=tmp_path, env=mgx_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log_lines: list[str] = []
    while not any("Iter [3/" in line for line in log_lines):
        line = process.stderr.readline()
        assert line, "the run ended before its third iteration"
        log_lines.append(line)
    process.send_signal(signal.SIGTERM)
    _, rest = process.communicate(timeout=120)
    assert process.returncode == 143, rest
    assert "stopped by SIGTERM" in rest
    marker = (work_dir / "last_checkpoint").read_text()
    stopped_at = torch.load(work_dir / marker, weights_only=True)["meta"]["iteration"]
    assert stopped_at >= 3 and marker == f"iter_{stopped_at}.pth"
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    (run,) = every_run(client)
    assert run.info.status == "KILLED", "a stop signal outside Slurm ends the MLflow run as KILLED"
    resumed = run_mgx("run", "train", str(config), "--work-dir", str(work_dir), "--resume",
                      "--cfg-options", f"train_cfg.max_iters={stopped_at + 2}", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed from {work_dir / marker} at iteration {stopped_at}" in resumed.stderr
    assert f"training finished at iteration {stopped_at + 2}" in resumed.stderr
    (run,) = client.search_runs([run.info.experiment_id])
    assert run.info.status == "FINISHED", "the resume continued the same run"
