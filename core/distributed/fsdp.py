"""Sharded training: ``model_wrapper_cfg=dict(type='FSDP')`` through torch's FSDP2 (``fully_shard``).

As with DDP, each direct child of the model that has trainable parameters is wrapped (a GAN's
generator and discriminator shard separately, so their optimizers stay separate); inside it,
each of its own children that holds parameters becomes a shard unit of its own, so that a
forward gathers one block's weights at a time. ``fully_shard`` changes the modules in place:
their ``state_dict`` keys stay those of the plain model (the values become DTensors).

Checkpoints of a sharded training go through ``torch.distributed.checkpoint`` (DCP): every
rank writes its shards of the weights and optimizer states into ``iter_N.dcp/``; the small
rest (meta, schedulers, RNG, loss scaler) stays in ``iter_N.pth`` (see
:mod:`mgx.core.engine.checkpoint_state`). DCP records each tensor's global shape, so a folder
written by N processes loads into any other number of processes, or into a plain model.
"""
from __future__ import annotations

import contextlib
import shutil
import warnings
from pathlib import Path
from typing import Any, Iterator

from mgx.core.errors import ConfigError

#: the names model_wrapper_cfg.type may give the strategy (MMEngine's wrapper, torch's, the short one)
FSDP_TYPES = ("FSDP", "MMFullyShardedDataParallel", "FullyShardedDataParallel")
#: FSDP1's sharding_strategy -> FSDP2's reshard_after_forward
_STRATEGIES = {"FULL_SHARD": True, "SHARD_GRAD_OP": False}
#: MMEngine/FSDP1 options FSDP2 does the job of by itself (accepted, nothing to set)
_HANDLED = ("backward_prefetch", "forward_prefetch", "limit_all_gathers", "sync_module_states", "device_id")
#: options without an FSDP2 counterpart here, and what to do instead
_REFUSED = {
    "cpu_offload": "mgx keeps sharded parameters on the training device",
    "mixed_precision": "use AMP through optim_wrapper=dict(type='AmpOptimWrapper', ...) instead",
    "auto_wrap_policy": "mgx shards each trainable sub-network and each of its direct children",
    "ignored_modules": "freeze those parameters (requires_grad=False) or leave them out of the sub-network",
    "param_init_fn": "networks are built on every rank from the same seed",
    "process_group": "the whole job's process group is used",
}
DCP_SUFFIX = ".dcp"
#: a DCP folder's entries (the tensor state; the rest of the checkpoint is the .pth beside it)
MODEL, OPTIMIZERS = "model", "optimizers"


def is_fsdp(wrapper_cfg: Any) -> bool:
    return isinstance(wrapper_cfg, dict) and wrapper_cfg.get("type") in FSDP_TYPES


def fsdp_options(wrapper_cfg: dict) -> dict:
    """``fully_shard``'s keyword arguments from an FSDP model_wrapper_cfg; ConfigError for what FSDP2 lacks."""
    where = "model_wrapper_cfg"
    for key in wrapper_cfg:
        if key in _REFUSED:
            raise ConfigError(f"{where}.{key} is not supported with type={wrapper_cfg['type']!r} "
                              f"(torch FSDP2): {_REFUSED[key]}")
    if wrapper_cfg.get("use_orig_params") is False:
        raise ConfigError(f"{where}.use_orig_params=False: FSDP2 always trains the original parameters; "
                          f"remove the key")
    reshard = wrapper_cfg.get("reshard_after_forward")
    strategy = wrapper_cfg.get("sharding_strategy")
    if strategy is not None:
        name = getattr(strategy, "name", strategy)
        if name not in _STRATEGIES:
            raise ConfigError(f"{where}.sharding_strategy={name!r} is not supported with FSDP2; choose one of "
                              f"{sorted(_STRATEGIES)} (or reshard_after_forward=True/False)")
        if reshard is not None and reshard != _STRATEGIES[name]:
            raise ConfigError(f"{where}: sharding_strategy={name!r} contradicts reshard_after_forward={reshard!r}")
        reshard = _STRATEGIES[name]
    if reshard is not None and not isinstance(reshard, bool):
        raise ConfigError(f"{where}.reshard_after_forward must be True or False, got {reshard!r}")
    return {"reshard_after_forward": True if reshard is None else reshard}


def check_fsdp_run(cfg: Any) -> None:
    """What a sharded training cannot do yet, refused before anything is built: an average of the
    weights (the run's or the model's own) would be a whole copy updated from sharded parameters."""
    from mgx.core.engine.ema import run_ema_config

    model_cfg = cfg.get("model")
    for key, present in (("ema_config", run_ema_config(cfg)),
                         ("model.ema_config", isinstance(model_cfg, dict) and model_cfg.get("ema_config"))):
        if present:
            raise ConfigError(f"{key} is not supported with model_wrapper_cfg type FSDP (an EMA of sharded "
                              f"weights); remove {key} or train with DDP (no model_wrapper_cfg type FSDP)")


def _shard_units(module: Any) -> list:
    """The modules ``fully_shard`` can take inside ``module``: a ModuleList/ModuleDict has no forward
    of its own, so its members stand in for it."""
    import torch

    if type(module).forward is torch.nn.Module.forward:
        return [unit for member in module.children() for unit in _shard_units(member)]
    return [module] if any(True for _ in module.parameters()) else []


def shard_trainable_children(model: Any, reshard_after_forward: bool = True) -> list[str]:
    """``fully_shard`` every trainable child (and its parameter-holding children); the names sharded."""
    import torch
    from torch.distributed.fsdp import fully_shard

    sharded = []
    for name, child in list(model.named_children()):
        if not any(parameter.requires_grad for parameter in child.parameters()):
            continue
        with torch.no_grad():  # rank 0's weights everywhere, as DDP does (diff_rank_seed builds others)
            for tensor in child.state_dict().values():
                torch.distributed.broadcast(tensor, src=0)
        for root in _shard_units(child):
            for block in root.children():
                for unit in _shard_units(block):
                    fully_shard(unit, reshard_after_forward=reshard_after_forward)
            fully_shard(root, reshard_after_forward=reshard_after_forward)
        sharded.append(name)
    return sharded


def sharded_modules(model: Any) -> list:
    from torch.distributed.fsdp import FSDPModule

    return [module for module in model.modules() if isinstance(module, FSDPModule)]


@contextlib.contextmanager
def whole_weights_during(model: Any, reshard_after_forward: bool = True) -> Iterator[None]:
    """Within the block every sharded module holds its whole weights and a forward gathers nothing:
    validation gives ranks different numbers of batches, and a forward that all-gathers on one
    rank only would wait forever."""
    modules = sharded_modules(model)
    for module in modules:
        module.set_reshard_after_forward(False)
        module.unshard()
    try:
        yield
    finally:
        for module in modules:
            module.reshard()
            module.set_reshard_after_forward(reshard_after_forward)


@contextlib.contextmanager
def _quiet_single_process() -> Iterator[None]:
    # DCP warns that it "assumes" one process when no process group exists: here that is the intent
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="torch.distributed is disabled")
        yield


def dcp_folder(checkpoint: Path) -> Path:
    """``iter_N.pth`` -> ``iter_N.dcp`` beside it."""
    return checkpoint.with_suffix(DCP_SUFFIX)


def save_sharded(model: Any, optimizers: dict[str, Any], folder: Path) -> None:
    """Every rank writes its shards of the weights and of each optimizer's state into ``folder``
    (written under a temporary name, moved into place by rank 0 once all ranks are done)."""
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_model_state_dict, get_optimizer_state_dict

    from mgx.core import distributed

    # An optimizer that has not stepped yet is left out: torch's get_optimizer_state_dict would first
    # give it a state by stepping it with zero gradients, which counts as a step (Adam's bias correction)
    state = {MODEL: get_model_state_dict(model),
             OPTIMIZERS: {name: get_optimizer_state_dict(model, optimizer) for name, optimizer in optimizers.items()
                          if optimizer.state}}
    tmp = folder.with_name(folder.name + ".tmp")
    if distributed.is_main_process():
        shutil.rmtree(tmp, ignore_errors=True)
    distributed.barrier()
    with _quiet_single_process():
        dcp.save(state, checkpoint_id=str(tmp), no_dist=not distributed.is_initialized())
    distributed.barrier()
    if distributed.is_main_process():
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
    distributed.barrier()


def load_sharded(model: Any, optimizers: dict[str, Any], folder: Path) -> None:
    """Load ``folder`` into the model and optimizers, whatever process count wrote it: each rank
    reads the pieces of the global tensors its own shards cover (all of them when not sharded)."""
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import (get_model_state_dict, get_optimizer_state_dict,
                                                         set_model_state_dict, set_optimizer_state_dict)

    from mgx.core import distributed

    if not (folder / ".metadata").is_file():
        raise ConfigError(f"sharded checkpoint folder {folder} is missing or incomplete (no .metadata)")
    from torch.distributed.checkpoint import FileSystemReader

    saved = {key.split(".")[1] for key in FileSystemReader(str(folder)).read_metadata().state_dict_metadata
             if key.startswith(OPTIMIZERS + ".")}  # the optimizers that had stepped (the others stay fresh)
    loaded = {name: optimizer for name, optimizer in optimizers.items() if name in saved}
    state = {MODEL: get_model_state_dict(model),
             OPTIMIZERS: {name: get_optimizer_state_dict(model, optimizer) for name, optimizer in loaded.items()}}
    with _quiet_single_process():
        dcp.load(state, checkpoint_id=str(folder), no_dist=not distributed.is_initialized())
    set_model_state_dict(model, state[MODEL])
    for name, optimizer in loaded.items():
        set_optimizer_state_dict(model, optimizer, state[OPTIMIZERS][name])


def full_weights(folder: Path) -> dict:
    """The model's whole weights from a DCP folder, in this process alone (to evaluate or convert)."""
    from torch.distributed.checkpoint import FileSystemReader
    # DCP's own reader of "whatever the folder holds", as its dcp_to_torch_save uses it (dcp.load
    # would fill a copy of the empty dict it is given, not the dict itself)
    from torch.distributed.checkpoint.default_planner import _EmptyStateDictLoadPlanner
    from torch.distributed.checkpoint.state_dict_loader import _load_state_dict

    if not (folder / ".metadata").is_file():
        raise ConfigError(f"sharded checkpoint folder {folder} is missing or incomplete (no .metadata)")
    state: dict = {}
    with _quiet_single_process():
        _load_state_dict(state, storage_reader=FileSystemReader(str(folder)),
                         planner=_EmptyStateDictLoadPlanner(keys={MODEL}), no_dist=True)
    return state[MODEL]
