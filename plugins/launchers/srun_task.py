"""What each Slurm task runs first: ``python -m mgx.plugins.launchers.srun_task -- CMD...``.

srun gives every task SLURM_PROCID/SLURM_NTASKS/SLURM_LOCALID; torch.distributed's
env:// wants RANK/WORLD_SIZE/LOCAL_RANK/MASTER_ADDR/MASTER_PORT. This maps them
(variables already set win), sets OMP_NUM_THREADS to the task's CPUs, then
replaces itself with CMD (same pid, so the signals srun forwards — USR1 before
the time limit, TERM on scancel — reach the worker directly).
"""
from __future__ import annotations

import os
import subprocess
import sys

from mgx.core.distributed.launch import rank_env_from_slurm

PORT_BASE = 20000
PORT_SPAN = 20000


def derived_port(job_id: str | int) -> int:
    """A rendezvous port every task of a job derives alike without talking (20000-39999)."""
    return PORT_BASE + int(job_id) % PORT_SPAN


def first_host(nodelist: str) -> str:
    """The first hostname of a Slurm node list ("node[01-04]" -> "node01"): rank 0 runs there."""
    if not any(ch in nodelist for ch in "[],"):
        return nodelist
    out = subprocess.run(["scontrol", "show", "hostnames", nodelist], check=True,
                         capture_output=True, text=True).stdout.split()
    return out[0]


def task_environment(environ: dict[str, str]) -> dict[str, str]:
    """The variables to add for a task: ranks, and the rendezvous address/port if missing."""
    extra = rank_env_from_slurm(environ)
    nodelist = environ.get("SLURM_STEP_NODELIST") or environ.get("SLURM_JOB_NODELIST")
    if "MASTER_ADDR" not in environ and nodelist:
        extra["MASTER_ADDR"] = first_host(nodelist)
    if "MASTER_PORT" not in environ and "SLURM_JOB_ID" in environ:
        extra["MASTER_PORT"] = str(derived_port(environ["SLURM_JOB_ID"]))
    if "OMP_NUM_THREADS" not in environ and environ.get("SLURM_CPUS_PER_TASK"):
        # As torchrun does: without it every task would spread over all the node's cores.
        extra["OMP_NUM_THREADS"] = environ["SLURM_CPUS_PER_TASK"]
    return extra


def main(argv: list[str]) -> None:
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        sys.exit("usage: python -m mgx.plugins.launchers.srun_task -- COMMAND [ARGS...]")
    os.environ.update(task_environment(dict(os.environ)))
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
