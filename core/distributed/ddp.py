"""DistributedDataParallel around each trainable sub-network.

A GAN steps its generator and discriminator with separate optimizers, so the
engine wraps every direct child module that has trainable parameters (not the
whole model): ``self.generator(z)`` then goes through DDP. Checkpoints and EMA
see the plain modules through :func:`plain_children`.
"""
from __future__ import annotations

import contextlib
import inspect
from functools import lru_cache
from typing import Any, Iterator


@lru_cache(maxsize=1)
def _buffer_sync_argument() -> str:
    """DDP's name for "broadcast buffers at every forward".

    torch 2.13 renamed ``broadcast_buffers`` to ``forward_sync_buffers`` and warns once per
    process (so once per rank) about the old name; older torch only has the old one. The new
    flag always syncs buffers once at construction, which is harmless: every rank starts from
    the same weights (same seed, or the same checkpoint).
    """
    from torch.nn.parallel import DistributedDataParallel

    if "forward_sync_buffers" in inspect.signature(DistributedDataParallel.__init__).parameters:
        return "forward_sync_buffers"
    return "broadcast_buffers"


def wrap_trainable_children(model: Any, device: Any, find_unused_parameters: bool = False,
                            broadcast_buffers: bool = False) -> dict[str, Any]:
    """Replace trainable children by DDP wrappers; returns the originals by name."""
    from torch.nn.parallel import DistributedDataParallel

    originals: dict[str, Any] = {}
    for name, child in list(model.named_children()):
        if not any(parameter.requires_grad for parameter in child.parameters()):
            continue
        originals[name] = child
        device_ids = [device.index] if device.type == "cuda" else None
        setattr(model, name, DistributedDataParallel(child, device_ids=device_ids,
                                                     find_unused_parameters=find_unused_parameters,
                                                     **{_buffer_sync_argument(): broadcast_buffers}))
    return originals


@contextlib.contextmanager
def plain_children(model: Any, originals: dict[str, Any]) -> Iterator[Any]:
    """Within the block the model holds its original children (state_dict keys without 'module.')."""
    if not originals:
        yield model
        return
    wrapped = {name: getattr(model, name) for name in originals}
    for name, child in originals.items():
        setattr(model, name, child)
    try:
        yield model
    finally:
        for name, wrapper in wrapped.items():
            setattr(model, name, wrapper)
