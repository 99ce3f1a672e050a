"""``--launcher dist``: torch.distributed.run (torchrun) on this node, or on several
nodes with a static rendezvous — the successor of MMagic's ``tools/dist_train.sh``.

    mgx run train CFG --launcher dist --gpus 8
    NNODES=2 NODE_RANK=0 PORT=29500 MASTER_ADDR=10.0.0.1 mgx run train CFG --launcher dist --gpus 8

torchrun starts one worker per device (``worker_command``), sets RANK/WORLD_SIZE/
LOCAL_RANK/MASTER_ADDR/MASTER_PORT, watches them and, when one fails, stops the
others and reports the failing rank. It runs in this process (no second
interpreter to import torch again).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from mgx.core.errors import ConfigError, MgxError
from mgx.core.distributed.launch import (LaunchRequest, as_int, option_or_env, port_is_free, resolve_host,
                             worker_command)

DEFAULT_PORT = 29500  # MMagic's PORT default


@dataclass
class DistPlan:
    """What torchrun is asked to do, resolved from flags, environment and devices."""

    nproc_per_node: int
    nnodes: int
    node_rank: int
    master_addr: str
    master_port: int | None  # None: single node, torchrun picks a free port
    use_cuda: bool

    def torchrun_args(self, command: list[str]) -> list[str]:
        args = ["--nnodes", str(self.nnodes), "--nproc-per-node", str(self.nproc_per_node),
                "--max-restarts", "0", "--monitor-interval", "0.5"]
        if self.master_port is not None:
            args += ["--node-rank", str(self.node_rank), "--master-addr", self.master_addr,
                     "--master-port", str(self.master_port)]
        # --no-python: the command already starts with sys.executable.
        return [*args, "--no-python", *command]


def plan(options: dict, environ=None) -> DistPlan:
    """Resolve --gpus/--nnodes/--node-rank/--master-addr/--master-port (or GPUS, NNODES,
    NODE_RANK, MASTER_ADDR, PORT/MASTER_PORT) and check them against this machine."""
    nnodes = as_int(option_or_env(options, "nnodes", "NNODES", 1, environ), "--nnodes (NNODES)", minimum=1)
    node_rank = as_int(option_or_env(options, "node_rank", "NODE_RANK", 0, environ),
                       "--node-rank (NODE_RANK)", minimum=0)
    if node_rank >= nnodes:
        raise ConfigError(f"--node-rank {node_rank} is out of range for --nnodes {nnodes} "
                          f"(node ranks are 0..{nnodes - 1})")
    gpus = as_int(option_or_env(options, "gpus", "GPUS", 1, environ), "--gpus (GPUS)", minimum=1)
    master_addr = str(option_or_env(options, "master_addr", "MASTER_ADDR", "127.0.0.1", environ))
    port = option_or_env(options, "master_port", "PORT", None, environ)
    if port is None:
        port = option_or_env({}, "master_port", "MASTER_PORT", None, environ)
    if port is not None:
        port = as_int(port, "--master-port (PORT)", minimum=1, maximum=65535)
    elif nnodes > 1:
        port = DEFAULT_PORT  # every node must agree on it without talking first

    use_cuda, devices = _cuda_devices()
    if use_cuda and gpus > devices:
        raise ConfigError(f"--gpus {gpus} asks for more GPUs than this node has ({devices}); "
                          f"use --gpus {devices} or fewer (and --nnodes for more machines)")
    if nnodes > 1 or port is not None:
        resolve_host(master_addr)
    if port is not None and node_rank == 0 and _is_this_host(master_addr) and not port_is_free(port):
        raise ConfigError(f"master port {port} is already in use on this machine (another run, or "
                          f"a leftover process?): pick a free one with --master-port or PORT=")
    return DistPlan(gpus, nnodes, node_rank, master_addr, port, use_cuda)


def _cuda_devices() -> tuple[bool, int]:
    import torch

    if not torch.cuda.is_available():
        return False, 0
    return True, torch.cuda.device_count()


def _is_this_host(address: str) -> bool:
    import socket

    try:
        target = {info[4][0] for info in socket.getaddrinfo(address, None)}
    except socket.gaierror:
        return False
    local = {"127.0.0.1", "::1", "0.0.0.0"}
    for name in (socket.gethostname(), socket.getfqdn(), "localhost"):
        try:
            local |= {info[4][0] for info in socket.getaddrinfo(name, None)}
        except socket.gaierror:
            pass
    return bool(target & local)


class DistLauncher:
    name = "dist"
    accepted_options = frozenset({"gpus", "nnodes", "node_rank", "master_addr", "master_port"})

    def launch(self, request: LaunchRequest) -> int:
        resolved = plan(request.options)
        notes = []
        if not resolved.use_cuda:
            notes.append(f"mgx: no CUDA device here: starting {resolved.nproc_per_node} CPU process(es) (gloo) "
                         "instead of GPUs")
        if "OMP_NUM_THREADS" not in os.environ and resolved.nproc_per_node > 1:
            # torchrun would set the same and print a six-line banner about it
            os.environ["OMP_NUM_THREADS"] = "1"
            notes.append("mgx: OMP_NUM_THREADS=1 in each process (set OMP_NUM_THREADS to choose)")
        for note in notes:
            print(_fit_terminal(note), file=sys.stderr, flush=True)
        return run_torchrun(resolved.torchrun_args(worker_command(request)))


def _fit_terminal(text: str) -> str:
    """``text`` wrapped to the terminal's width (continuation lines indented)."""
    import shutil
    import textwrap

    width = max(40, shutil.get_terminal_size().columns - 1)
    return "\n".join(textwrap.wrap(text, width=width, subsequent_indent="    ", break_on_hyphens=False))


def run_torchrun(args: list[str]) -> int:
    """Run torch.distributed.run with ``args`` in this process; the job's exit code.

    A failing worker makes torchrun stop the others; its summary (rank, exit
    code, the error recorded by the rank) is printed to stderr.
    """
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    parsed = get_args_parser().parse_args(args)
    try:
        run(parsed)
    except ChildFailedError as failure:
        print(failure.format_msg(), file=sys.stderr, flush=True)
        _, first = failure.get_first_failure()
        code = first.exitcode
        return 128 - code if code < 0 else (code or 1)  # killed by signal N -> 128+N, like a shell
    except (RuntimeError, OSError, ValueError) as exc:  # rendezvous/store failures: no worker ran
        raise MgxError(f"torch.distributed.run could not start the workers: {type(exc).__name__}: {exc}") from exc
    return 0
