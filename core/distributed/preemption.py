"""Preemption: a signal asks the run to stop at the next iteration boundary.

Slurm warns a job before its time limit (``--signal=B:USR1@grace``, forwarded by
mgx's batch script to every task) and ``scancel``/node drain sends SIGTERM. The
handlers installed here only set a flag — nothing heavy runs inside a signal
handler. The engine polls :func:`requested` after each iteration; when set it
saves a checkpoint, leaves the MLflow run open, calls :func:`requeue_if_slurm`
and exits; the requeued job resumes from that checkpoint.

A second SIGTERM while a stop is already pending restores the default action
and re-raises it: a run stuck in a collective can still be killed.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from typing import Iterable

_DEFAULT_SIGNALS = (signal.SIGUSR1, signal.SIGTERM)

_requested = threading.Event()
_reason: str | None = None
_previous: dict[int, object] = {}


def _handle(signum, frame) -> None:
    global _reason
    if _requested.is_set() and signum == signal.SIGTERM:
        # Asked twice: stop waiting for a clean checkpoint.
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    _reason = signal.Signals(signum).name
    _requested.set()


def install_handlers(signals: Iterable[int] = _DEFAULT_SIGNALS) -> bool:
    """Make USR1 and SIGTERM set the preemption flag. Idempotent. Returns False (and
    installs nothing) off the main thread, where Python cannot set handlers."""
    if threading.current_thread() is not threading.main_thread():
        return False
    for signum in signals:
        if signum not in _previous:
            _previous[signum] = signal.getsignal(signum)
        signal.signal(signum, _handle)
    return True


def uninstall_handlers() -> None:
    """Put back the handlers that were there before :func:`install_handlers`."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum, previous in list(_previous.items()):
        signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
        del _previous[signum]


def requested() -> bool:
    """Whether a preemption signal arrived (cheap: safe to call every iteration)."""
    return _requested.is_set()


def reason() -> str | None:
    """Name of the signal that asked to stop (e.g. "SIGUSR1"), or None."""
    return _reason if _requested.is_set() else None


def request(why: str = "requested") -> None:
    """Set the flag without a signal (e.g. from a run hook)."""
    global _reason
    _reason = why
    _requested.set()


def clear() -> None:
    """Forget a pending request (tests, or a run that decided to go on)."""
    global _reason
    _reason = None
    _requested.clear()


def requeue_if_slurm() -> bool:
    """On rank 0 of a Slurm job: ``scontrol requeue $SLURM_JOB_ID`` (Slurm then stops every
    task and starts the job again; mgx's batch script resumes it). Returns True when
    the requeue was accepted; False elsewhere (not Slurm, not rank 0, or refused — the
    reason is printed). Call after the checkpoint is saved on every rank."""
    job_id = os.environ.get("SLURM_JOB_ID")
    if not job_id:
        return False
    if _rank() != 0:
        return False
    scontrol = shutil.which("scontrol")
    if scontrol is None:
        print("mgx: preempted, but scontrol is not on PATH: cannot requeue the job", file=sys.stderr)
        return False
    print(f"mgx: requeueing Slurm job {job_id}; it resumes from the checkpoint when it restarts",
          file=sys.stderr, flush=True)
    # Slurm answers the requeue by sending SIGTERM to every task, often before scontrol
    # returns; a pending stop turns that SIGTERM into an immediate kill (see _handle).
    # The checkpoint is already committed, so ignore it until the outcome is reported.
    shielded = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN) if shielded else None
    try:
        result = subprocess.run([scontrol, "requeue", job_id], capture_output=True, text=True)
        if result.returncode != 0:
            print(f"mgx: preempted, but `scontrol requeue {job_id}` failed: {result.stderr.strip()} "
                  f"(resume later with --resume)", file=sys.stderr, flush=True)
            return False
        print(f"mgx: requeued Slurm job {job_id}", file=sys.stderr, flush=True)
        return True
    finally:
        if shielded:
            signal.signal(signal.SIGTERM, previous)


def _rank() -> int:
    """This process's rank: the process group's, else the launcher's variables."""
    from mgx.core.distributed.collectives import get_rank, is_initialized

    if is_initialized():
        return get_rank()
    return int(os.environ.get("RANK", os.environ.get("SLURM_PROCID", "0")))
