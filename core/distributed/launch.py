"""The contract between ``mgx run`` and launchers, plus helpers launchers share.

The CLI parses ``mgx run train|test ... --launcher NAME [launcher flags]`` into a
:class:`LaunchRequest` and hands it to the launcher registered under NAME
(``mgx_register_launchers``). A launcher starts the worker processes — each one
runs :func:`worker_command` (``mgx run <command> ... --launcher local``) with
RANK/WORLD_SIZE/LOCAL_RANK/MASTER_ADDR/MASTER_PORT in its environment — waits
for them (or submits them) and returns an exit code. The engine in each worker
joins the process group itself (``mgx.core.distributed.collectives.init_distributed``).
A launcher that also implements :class:`JobArrayLauncher` runs ``mgx sweep`` as one job array.
"""
from __future__ import annotations

import os
import shlex
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol, runtime_checkable

from mgx.core.errors import ConfigError


@dataclass
class LaunchRequest:
    """What the CLI hands to a launcher.

    ``worker_args`` are the arguments after ``mgx run <command>`` for each
    worker (config, checkpoint for test, --work-dir, --amp, --cfg-options,
    --resume ...) without launcher flags. ``options`` holds the launcher flags
    as given on the CLI (``None`` when not given): gpus, nnodes, node_rank,
    master_addr, master_port, partition, job_name, gpus_per_node,
    cpus_per_task, srun_args, time, wait. ``run_here`` runs the job in this very
    process and returns its exit code.
    """

    command: str
    worker_args: list[str]
    work_dir: Path
    options: dict[str, Any] = field(default_factory=dict)
    run_here: Callable[[], int] | None = None


def worker_command(request: LaunchRequest) -> list[str]:
    """The command line every worker process runs (one per rank)."""
    return [sys.executable, "-m", "mgx.cli", "run", request.command, *request.worker_args,
            "--launcher", "local"]


@runtime_checkable
class Launcher(Protocol):
    """A way of starting the workers of a run. Register with ``mgx_register_launchers``."""

    name: str
    # Launcher flags (keys of LaunchRequest.options) this launcher accepts; the
    # CLI rejects the others with exit code 2, naming them.
    accepted_options: frozenset[str]

    def launch(self, request: LaunchRequest) -> int:
        """Start the run's workers and return the run's exit code."""
        ...


@dataclass
class JobArrayRequest:
    """What ``mgx sweep`` hands to a launcher that runs a whole sweep as one job array.

    Task ``i`` (for each key of ``task_args``) runs ``[*train_command, *task_args[i], "--resume"]``
    with ``environment`` exported (``--resume``: a restarted task continues its own point), then
    marks itself ended by creating ``ended_dir/<i>`` (clearing it when it starts), then runs
    ``[*finish_command, "--task", str(i)]`` whatever its exit code. At most ``max_parallel``
    tasks run at once (None: no limit). ``options`` are the sweep's launcher flags (gpus,
    partition, cpus_per_task, job_name, time; None when not given); ``folder`` is the
    sweep's folder, for scripts and logs.
    """

    name: str
    task_args: Mapping[int, list[str]]
    train_command: list[str]
    environment: Mapping[str, str]
    finish_command: list[str]
    ended_dir: Path
    folder: Path
    max_parallel: int | None = None
    options: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class JobArrayLauncher(Protocol):
    """A launcher that can also run a sweep as ONE job array (``mgx sweep --launcher NAME``).

    A registered launcher with these methods runs sweeps this way; any other launcher
    runs a sweep one ``mgx run train --launcher NAME`` per point.
    """

    def submit_array(self, request: JobArrayRequest) -> str:
        """Submit the array, tell the user how to follow it (stdout) and return its job id.
        Raise ConfigError when the scheduler refuses it (naming why)."""
        ...

    def array_tasks_left(self, job_id: str) -> dict[str, str] | None:
        """Task id -> state of the array's tasks still queued or running (a task queued again
        after preemption counts); {} once none is left; None when the scheduler cannot tell."""
        ...

    def current_array_job_id(self) -> str | None:
        """The job id of the array this process runs in (None outside one)."""
        ...

    def task_is_being_requeued(self, job_id: str, task: str) -> bool:
        """Whether task ``task`` of the array is about to run again (preempted, requeued):
        its point is not over, so the sweep's parent run must wait for it."""
        ...


# Every launcher flag the CLI knows, with the flag spelling used in messages.
ALL_OPTIONS = ("gpus", "nnodes", "node_rank", "master_addr", "master_port", "partition",
               "job_name", "gpus_per_node", "cpus_per_task", "srun_args", "time", "wait")


def flag_name(option: str) -> str:
    """``node_rank`` -> ``--node-rank``."""
    return "--" + option.replace("_", "-")


def rejected_options(launcher: Launcher, options: Mapping[str, Any]) -> list[str]:
    """Flags that were given (not None/False) but that ``launcher`` does not accept."""
    return sorted(flag_name(key) for key, value in options.items()
                  if value not in (None, False) and key not in launcher.accepted_options)


def check_options(launcher: Launcher, options: Mapping[str, Any]) -> None:
    """Raise ConfigError naming every flag ``launcher`` does not accept."""
    rejected = rejected_options(launcher, options)
    if rejected:
        accepted = ", ".join(sorted(flag_name(o) for o in launcher.accepted_options)) or "no launcher flags"
        raise ConfigError(f"--launcher {launcher.name} does not take {', '.join(rejected)} "
                          f"(it accepts {accepted})")


def option_or_env(options: Mapping[str, Any], key: str, env: str | None, default: Any = None,
                  environ: Mapping[str, str] | None = None) -> Any:
    """The flag's value if given, else the environment variable's (as MMagic's scripts read
    GPUS, NNODES, PORT ...), else ``default``. Returns the raw value (str from env)."""
    value = options.get(key)
    if value is not None:
        return value
    environ = os.environ if environ is None else environ
    if env and environ.get(env, "") != "":
        return environ[env]
    return default


def as_int(value: Any, what: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """``int(value)`` or a ConfigError naming the flag/variable ``what``."""
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigError(f"{what} must be an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ConfigError(f"{what} must be at least {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise ConfigError(f"{what} must be at most {maximum}, got {number}")
    return number


def resolve_host(address: str, what: str = "--master-addr") -> str:
    """Check that ``address`` resolves; ConfigError otherwise (before any process starts)."""
    try:
        socket.getaddrinfo(address, None)
    except (socket.gaierror, UnicodeError) as exc:
        raise ConfigError(
            f"{what} {address!r} does not resolve ({exc.strerror if hasattr(exc, 'strerror') else exc}): "
            f"give the IP address or a hostname of the rank-0 node that every node can resolve") from None
    return address


def port_is_free(port: int, host: str = "") -> bool:
    """Whether a TCP server could listen on ``port`` (what rank 0's rendezvous store does)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Same option the c10d TCPStore sets, so TIME_WAIT leftovers don't count as "in use".
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A TCP port nothing listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("", 0))
        return probe.getsockname()[1]


def rank_env_from_slurm(environ: Mapping[str, str]) -> dict[str, str]:
    """RANK/WORLD_SIZE/LOCAL_RANK/LOCAL_WORLD_SIZE/NODE_RANK from an srun task's SLURM_* variables.

    Returns only what can be derived (empty outside a Slurm step); variables
    already present in ``environ`` win, so an explicit RANK is never overridden.
    """
    derived: dict[str, str] = {}
    mapping = {"RANK": "SLURM_PROCID", "WORLD_SIZE": "SLURM_NTASKS",
               "LOCAL_RANK": "SLURM_LOCALID", "NODE_RANK": "SLURM_NODEID"}
    for target, source in mapping.items():
        if source in environ and target not in environ:
            derived[target] = environ[source]
    if "LOCAL_WORLD_SIZE" not in environ and "SLURM_STEP_TASKS_PER_NODE" in environ:
        # e.g. "4(x2)" or "3,2": this node's entry is the NODEID-th once expanded.
        counts: list[str] = []
        for part in environ["SLURM_STEP_TASKS_PER_NODE"].split(","):
            number, _, repeat = part.partition("(x")
            counts += [number] * (int(repeat.rstrip(")")) if repeat else 1)
        node = int(environ.get("SLURM_NODEID", "0"))
        if node < len(counts):
            derived["LOCAL_WORLD_SIZE"] = counts[node]
    return derived


def record_worker_error(exc: BaseException) -> None:
    """Under torchrun, write ``exc`` to the error file torchrun reads, so its failure
    summary names this rank's exception (call from the worker's top-level handler).
    A no-op outside torchrun."""
    if not os.environ.get("TORCHELASTIC_ERROR_FILE"):
        return
    from torch.distributed.elastic.multiprocessing.errors import ErrorHandler

    try:
        raise exc
    except BaseException as raised:  # record_exception reads the active traceback
        ErrorHandler().record_exception(raised)


def shell_join(argv: list[str]) -> str:
    """Quote a command line for a shell script or a message."""
    return " ".join(shlex.quote(str(arg)) for arg in argv)
