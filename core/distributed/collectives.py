"""torch.distributed on env:// — initialisation, teardown and the collectives the
engine and metrics use.

Every helper works (as identity or no-op) when the process group is not
initialised, so single-process code paths need no special cases.
"""
from __future__ import annotations

import datetime
import os
from typing import Any

DEFAULT_TIMEOUT_S = 600


def _dist():
    import torch.distributed as dist

    return dist


def is_initialized() -> bool:
    dist = _dist()
    return dist.is_available() and dist.is_initialized()


def get_rank() -> int:
    return _dist().get_rank() if is_initialized() else 0


def get_world_size() -> int:
    return _dist().get_world_size() if is_initialized() else 1


def get_local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_main_process() -> bool:
    return get_rank() == 0


def env_world_size() -> int:
    """World size requested by the launcher through the environment."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def init_distributed(timeout_s: float | None = None, backend: str | None = None) -> "torch.device":
    """Join the process group described by RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT.

    Uses ``backend`` (env_cfg.dist_cfg.backend) when given, else nccl when CUDA is present
    (one device per LOCAL_RANK), gloo otherwise; nccl without CUDA falls back to gloo.
    Returns the device this process should use. Single-process runs (no
    WORLD_SIZE > 1) do not create a group.
    """
    import torch

    use_cuda = torch.cuda.is_available()
    device = torch.device("cuda", get_local_rank()) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    if env_world_size() <= 1 or is_initialized():
        return device
    timeout = datetime.timedelta(seconds=timeout_s or float(os.environ.get("MGX_DIST_TIMEOUT", DEFAULT_TIMEOUT_S)))
    _dist().init_process_group(
        backend=(backend if backend and (use_cuda or backend != "nccl") else ("nccl" if use_cuda else "gloo")),
        init_method="env://",
        timeout=timeout,
        device_id=device if use_cuda else None,
    )
    return device


def destroy_distributed(wait_for_peers: bool = False) -> None:
    """Leave the process group. With ``wait_for_peers`` (a run every rank finished) first
    wait for all ranks: a rank that tears down gloo while a peer still writes its results
    can make that peer abort (seen as SIGABRT, "terminate called without an active exception").

    Garbage is collected on both sides of the teardown: sharded (FSDP2) modules keep the group and
    its pending work alive through reference cycles, and a gloo group first freed during interpreter
    shutdown makes its worker threads reach for a finalizing interpreter, which also aborts."""
    import gc

    if is_initialized():
        gc.collect()
        if wait_for_peers:
            _dist().barrier()
        _dist().destroy_process_group()
        gc.collect()


def barrier() -> None:
    if is_initialized():
        _dist().barrier()


def all_reduce_sum(tensor: "torch.Tensor") -> "torch.Tensor":
    """Sum ``tensor`` over ranks and return the result (input left untouched)."""
    if not is_initialized():
        return tensor
    dist = _dist()
    reduced = tensor.clone()
    if dist.get_backend() == "nccl" and not reduced.is_cuda:
        reduced = reduced.cuda()
    dist.all_reduce(reduced, op=dist.ReduceOp.SUM)
    return reduced.to(tensor.device)


def all_gather_object(obj: Any) -> list[Any]:
    """One entry per rank, in rank order."""
    if not is_initialized():
        return [obj]
    gathered: list[Any] = [None] * get_world_size()
    _dist().all_gather_object(gathered, obj)
    return gathered


def broadcast_object(obj: Any, src: int = 0) -> Any:
    if not is_initialized():
        return obj
    box = [obj]
    _dist().broadcast_object_list(box, src=src)
    return box[0]


def shard_indices(total: int) -> range:
    """The global sample indices this rank handles: a contiguous, rank-ordered block.

    Concatenating every rank's block in rank order gives ``range(total)``, so
    results gathered in rank order are identical to a single process's.
    """
    rank, world = get_rank(), get_world_size()
    per_rank, extra = divmod(total, world)
    start = rank * per_rank + min(rank, extra)
    return range(start, start + per_rank + (1 if rank < extra else 0))
