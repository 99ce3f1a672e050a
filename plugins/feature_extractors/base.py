"""What mgx's metrics expect of a feature extractor, and helpers shared by extractors.

An extractor is a ``torch.nn.Module`` whose ``forward(images)`` takes float
N×3×H×W RGB images in [0, 255] and returns N×D features. Optional members:

- ``identity: str`` — a stable description including the weights' hash; it is
  part of the real-statistics cache key (a module without it is identified by
  its class and a hash of its state_dict);
- ``class_probabilities(images) -> N×K`` — softmax class probabilities (needed by IS);
- ``input_size: int`` — the square size the network was trained at (IS's ``resize``);
- ``uint8_input: bool`` — True when ``forward`` quantises its input to uint8
  (rounding); metrics with ``convention='mmagic'`` then truncate pixels first.
"""
from __future__ import annotations

import hashlib

import torch


def to_uint8_range(images: torch.Tensor) -> torch.Tensor:
    """Round [0, 255] floats half-up and clamp, as uint8 (what NVIDIA's TorchScript nets take)."""
    return (images + 0.5).floor().clamp(0, 255).to(torch.uint8)


def state_dict_digest(module: torch.nn.Module) -> str:
    """sha256 over the names, shapes and bytes of a module's parameters and buffers."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(str(tensor.dtype).encode())
        # reshape(-1): 0-dim buffers (BatchNorm's num_batches_tracked) cannot be viewed as bytes
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def extractor_identity(module: torch.nn.Module) -> str:
    """The extractor's ``identity`` or, failing that, class name + state_dict hash."""
    identity = getattr(module, "identity", None)
    if isinstance(identity, str) and identity:
        return identity
    cls = type(module)
    return f"{cls.__module__}.{cls.__qualname__}:state={state_dict_digest(module)}"
