"""Several processes: the collectives (re-exported here), DDP wrapping, the launch contract, preemption.

``from mgx.core import distributed`` gives the collectives a metric or sampler needs
(``distributed.get_rank()``, ``distributed.all_reduce_sum(t)``, ...); they live in
``mgx.core.distributed.collectives``.
"""
from mgx.core.distributed.collectives import (all_gather_object, all_reduce_sum, barrier, broadcast_object,
                                              destroy_distributed, env_world_size, get_local_rank, get_rank,
                                              get_world_size, init_distributed, is_initialized, is_main_process,
                                              shard_indices)

__all__ = ["all_gather_object", "all_reduce_sum", "barrier", "broadcast_object", "destroy_distributed",
           "env_world_size", "get_local_rank", "get_rank", "get_world_size", "init_distributed", "is_initialized",
           "is_main_process", "shard_indices"]
