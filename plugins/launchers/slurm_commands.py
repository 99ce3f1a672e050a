"""Thin wrappers over Slurm's client commands (sbatch, scontrol, sinfo) with the
errors mgx reports. Nothing here imports torch."""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

from mgx.core.errors import ConfigError, MgxError

# Job states after which a job will not run again (a requeued job goes back to PENDING).
TERMINAL_STATES = frozenset({"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
                             "BOOT_FAIL", "DEADLINE", "PREEMPTED", "REVOKED", "SPECIAL_EXIT"})


def require(command: str = "sbatch") -> str:
    """Path of a Slurm client command, or an MgxError saying Slurm is missing."""
    path = shutil.which(command)
    if path is None:
        raise MgxError(
            f"Slurm is missing: `{command}` is not on PATH. Run this on a Slurm login node "
            f"(or inside an allocation), or use --launcher dist on a single machine. "
            f"For a local test cluster: .ci/slurm/cluster.sh start (see docs/launchers.md).")
    return path


def _run(argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    require(argv[0])
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise MgxError(f"`{' '.join(argv)}` did not answer within {timeout:.0f} s: is slurmctld up?") from None


def partitions() -> list[str]:
    """Partition names (the default one marked with '*' by sinfo is stripped)."""
    result = _run(["sinfo", "-h", "-o", "%P"])
    return sorted({line.strip().rstrip("*") for line in result.stdout.splitlines() if line.strip()})


def partition_has_gpus(partition: str | None) -> bool | None:
    """Whether the partition's nodes advertise GPU GRES; None when sinfo can't tell."""
    argv = ["sinfo", "-h", "-o", "%G"] + (["-p", partition] if partition else [])
    result = _run(argv)
    lines = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    if result.returncode != 0 or not lines:
        return None
    return any("gpu" in line for line in lines)


def submit(script_path: str, partition: str | None) -> str:
    """sbatch the script; the job id. Slurm's refusal is relayed as it is."""
    result = _run(["sbatch", "--parsable", script_path])
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip()
        if "partition" in message.lower():
            try:
                known = ", ".join(partitions()) or "(none)"
            except MgxError:
                known = "(sinfo failed)"
            raise ConfigError(f"Slurm refused --partition {partition!r}:\n{message}\n"
                              f"Partitions on this cluster: {known}")
        raise MgxError(f"sbatch refused the job (script {script_path}):\n{message}")
    return result.stdout.strip().split(";")[0]


@dataclass
class JobStatus:
    state: str          # e.g. PENDING, RUNNING, COMPLETED (first word of JobState)
    exit_code: int      # shell convention: signal N -> 128+N
    restarts: int
    reason: str
    raw: dict[str, str]

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL_STATES


def job_status(job_id: str) -> JobStatus | None:
    """The job's state from ``scontrol show job -o``; None once Slurm forgot the job."""
    result = _run(["scontrol", "show", "job", "-o", job_id], timeout=30)
    if result.returncode != 0:
        if "Invalid job id" in result.stderr:
            return None
        raise MgxError(f"scontrol show job {job_id} failed: {result.stderr.strip()}")
    fields = dict(item.split("=", 1) for item in result.stdout.split() if "=" in item)
    code, _, signal = fields.get("ExitCode", "0:0").partition(":")
    exit_code = int(code) if int(code or 0) else (128 + int(signal) if int(signal or 0) else 0)
    return JobStatus(state=fields.get("JobState", "UNKNOWN").split()[0], exit_code=exit_code,
                     restarts=int(fields.get("Restarts", "0")), reason=fields.get("Reason", ""), raw=fields)


def array_task_states(job_id: str) -> dict[str, str] | None:
    """Task id -> state of the tasks of job array ``job_id`` that have not ended for good
    (PENDING - a requeued task too -, RUNNING, COMPLETING, ...); None when squeue cannot tell."""
    try:
        result = _run(["squeue", "-h", "-r", "-j", str(job_id), "-o", "%K %T"], timeout=60)
    except MgxError:
        return None
    if result.returncode != 0:
        # squeue forgets finished jobs: "Invalid job id" means no task is left
        return {} if "Invalid job id" in result.stderr else None
    states = {}
    for line in result.stdout.splitlines():
        task, _, state = line.strip().partition(" ")
        if task and state and state not in TERMINAL_STATES:
            states[task] = state
    return states


def requeue(job_id: str) -> None:
    result = _run(["scontrol", "requeue", job_id])
    if result.returncode != 0:
        raise MgxError(f"scontrol requeue {job_id} failed: {result.stderr.strip()}")
