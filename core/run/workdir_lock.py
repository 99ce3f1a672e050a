"""A work_dir belongs to one live training: ``<work_dir>/.mgx.lock``.

The training's rank 0 holds an exclusive ``flock`` on the file for the run's life; the
operating system drops it when the process dies (even by ``kill -9``), so a lock is never
stale on one host, and a Slurm requeue (whose old process is dead) finds it free. The file
also records host, pid, start time and Slurm job id, for the refusal message and for
shared filesystems that do not honour ``flock`` across hosts: a record left by a process
of another host (not cleared by a clean exit) is respected unless it names this Slurm
job (a requeue of the same job). Such a record outlives a host that died: delete the
file once that process is surely gone. A sweep run again ends the training its killed
predecessor left in a point's folder (:func:`end_holder`) before starting that point.
"""
from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any, Callable

from mgx.core.errors import ConfigError

LOCK_NAME = ".mgx.lock"


def _record() -> dict:
    return {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "slurm_job_id": os.environ.get("SLURM_JOB_ID")}


def _read(handle: Any) -> dict:
    handle.seek(0)
    try:
        return json.loads(handle.read() or "{}")
    except ValueError:
        return {}


def describe(holder: dict) -> str:
    return f"process {holder.get('pid')} on host {holder.get('host')} (since {holder.get('since')})"


def _foreign(holder: dict) -> bool:
    """A record a process of another host left (flock may not reach across hosts) and not our requeued job."""
    if not holder or holder.get("host") == socket.gethostname():
        return False
    job = os.environ.get("SLURM_JOB_ID")
    return not (job and holder.get("slurm_job_id") == job)


def holder_of(work_dir: Path) -> dict | None:
    """Who holds ``work_dir`` now (a record), or None when no live training holds it."""
    path = Path(work_dir) / LOCK_NAME
    if not path.is_file():
        return None
    with open(path, "r+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read(handle) or {"pid": "?", "host": "?", "since": "?"}
        try:
            holder = _read(handle)
            return holder if _foreign(holder) else None
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def refusal(work_dir: Path, holder: dict) -> str:
    return (f"work_dir {work_dir} belongs to a training still running: {describe(holder)}. Wait for it to end, "
            f"stop it, or give this run another --work-dir. (If that process is surely gone — e.g. its host died "
            f"— delete {Path(work_dir) / LOCK_NAME}.)")


class WorkDirLock:
    """Held from :meth:`acquire` to :meth:`release` (or the process's death)."""

    def __init__(self, work_dir: Path) -> None:
        self.path = Path(work_dir) / LOCK_NAME
        self.handle: Any = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`ConfigError` naming the holder (the work_dir must exist)."""
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(handle) or {"pid": "?", "host": "?", "since": "?"}
            handle.close()
            raise ConfigError(refusal(self.path.parent, holder)) from None
        holder = _read(handle)
        if _foreign(holder):
            handle.close()
            raise ConfigError(refusal(self.path.parent, holder))
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(_record()))
        handle.flush()
        self.handle = handle

    def release(self) -> None:
        """Clear the record (a clean end) and drop the lock."""
        if self.handle is None:
            return
        try:
            self.handle.seek(0)
            self.handle.truncate()
            self.handle.flush()
        finally:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


def end_holder(work_dir: Path, grace_s: float = 60.0, say: Callable[[str], Any] = print) -> None:
    """End the live training that holds ``work_dir`` (a sweep's orphaned point after the sweep was
    killed): SIGTERM — it checkpoints and stops as when preempted — then SIGKILL after ``grace_s``.
    A holder on another host cannot be signalled from here: :class:`ConfigError`."""
    holder = holder_of(work_dir)
    if holder is None:
        return
    if holder.get("host") != socket.gethostname() or not isinstance(holder.get("pid"), int):
        raise ConfigError(refusal(Path(work_dir), holder))
    say(f"{work_dir}: ending the training left running there, {describe(holder)}")
    for signum, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 30.0)):
        try:
            os.kill(holder["pid"], signum)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + wait_s
        while holder_of(work_dir) is not None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        else:
            return
    raise ConfigError(refusal(Path(work_dir), holder))


def check_free(work_dir: Path) -> None:
    """Raise :class:`ConfigError` when a live training holds ``work_dir`` (taking nothing)."""
    holder = holder_of(work_dir)
    if holder is not None:
        raise ConfigError(refusal(Path(work_dir), holder))


__all__ = ["LOCK_NAME", "WorkDirLock", "check_free", "describe", "end_holder", "holder_of", "refusal"]
