"""Small helpers shared by the built-in models."""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

import torch
from torch import nn

from mgx.core.errors import MgxError


def module_device(module: nn.Module) -> torch.device:
    """The device of ``module``'s first parameter (CPU for parameter-less modules)."""
    for parameter in module.parameters():
        return parameter.device
    return torch.device("cpu")


@contextlib.contextmanager
def frozen(module: nn.Module | None) -> Iterator[None]:
    """``module``'s parameters take no gradient inside the block (a GAN's discriminator during the
    generator step: its gradients must not leak into its next update, and DDP must see no hook of
    it fire); each parameter's own ``requires_grad`` comes back afterwards, also on an exception.
    ``None`` (no discriminator) freezes nothing."""
    parameters = list(module.parameters()) if module is not None else []
    trainable = [parameter.requires_grad for parameter in parameters]
    for parameter in parameters:
        parameter.requires_grad_(False)
    try:
        yield
    finally:
        for parameter, flag in zip(parameters, trainable):
            parameter.requires_grad_(flag)


def batch_images(batch: dict, key: str, who: str, device: torch.device) -> torch.Tensor:
    """``batch[key]`` as an N×C×H×W tensor on ``device``, with a clear error when it is missing."""
    value: Any = batch.get(key) if isinstance(batch, dict) else None
    if not isinstance(value, torch.Tensor) or value.dim() != 4:
        fields = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
        raise MgxError(f"{who} needs batch[{key!r}] as an N×C×H×W tensor (PackInputs makes it); "
                       f"the batch has {fields}")
    return value.to(device, non_blocking=True)


def uint8_to_signed(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1]; float input is taken to be in [0, 255] already."""
    return images.float() / 127.5 - 1.0


def uint8_to_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [0, 1]."""
    return images.float() / 255.0
