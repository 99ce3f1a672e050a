"""A work_dir belongs to one live training: a second one is refused (exit 2, nothing written),
and the lock dies with its holder (kill -9)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from engine_helpers import mgx_env, run_mgx, write_tiny_config

from mgx.core.run.workdir_lock import LOCK_NAME, WorkDirLock, holder_of

HOLD = ("import sys, time; from mgx.core.run.workdir_lock import WorkDirLock; "
        "lock = WorkDirLock(sys.argv[1]); lock.acquire(); print('held', flush=True); time.sleep(600)")


def _hold(work_dir: Path) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(work_dir)], env=mgx_env(), stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def _snapshot(folder: Path) -> dict:
    return {path.name: (path.stat().st_mtime_ns, path.read_bytes()) for path in folder.iterdir()}


def test_second_training_in_a_held_work_dir_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    config = write_tiny_config(tmp_path, max_iters=1, val_interval=1)
    work_dir = tmp_path / "work"
    work_dir.mkdir()
    (work_dir / "mgx_run.json").write_text('{"run": "the other one"}')
    holder = _hold(work_dir)
    try:
        before = _snapshot(work_dir)
        result = run_mgx("run", "train", str(config), "--work-dir", str(work_dir), "--no-track", cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert f"process {holder.pid} on host {socket.gethostname()}" in result.stderr
        assert "another --work-dir" in result.stderr
        assert _snapshot(work_dir) == before
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    # the holder died by kill -9: the lock went with it
    assert holder_of(work_dir) is None
    lock = WorkDirLock(work_dir)
    lock.acquire()
    assert json.loads((work_dir / LOCK_NAME).read_text())["pid"] == os.getpid()
    lock.release()
    assert (work_dir / LOCK_NAME).read_text() == ""


def test_record_of_a_live_process_of_another_host_is_respected(tmp_path: Path, monkeypatch) -> None:
    """On a shared filesystem flock may not reach across hosts: the record left there counts,
    unless it names this Slurm job (a requeue of the same job on another node)."""
    record = {"pid": 4242, "host": "other-node", "since": "then", "slurm_job_id": "77"}
    (tmp_path / LOCK_NAME).write_text(json.dumps(record))
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    assert holder_of(tmp_path)["host"] == "other-node"
    monkeypatch.setenv("SLURM_JOB_ID", "77")
    assert holder_of(tmp_path) is None


def test_a_rerun_sweep_ends_the_training_its_killed_predecessor_left(tmp_path: Path) -> None:
    """The sweep's recovery: the point's orphaned trainer (here a process holding the real lock)
    is ended before the point starts again, so two never train side by side."""
    from mgx.core.run.workdir_lock import end_holder

    holder = _hold(tmp_path)
    said: list[str] = []
    try:
        end_holder(tmp_path, grace_s=20, say=said.append)
        assert holder.wait(timeout=5) == -signal.SIGTERM
    finally:
        if holder.poll() is None:
            holder.kill()
    assert holder_of(tmp_path) is None
    assert said and f"process {holder.pid}" in said[0]
