"""MMagic's weight initialisation of SNGANGenerator / ProjDiscriminator by ``init_cfg['type']``.

Applied to the trainable weight (``weight_orig`` under torch-style spectral norm, which is what
MMagic's in-place init reaches through the shared storage before the first forward).
"""
from __future__ import annotations

import math

from torch import nn

from ..ops.spectral_norm import raw_weight

_LAYERS = (nn.Conv2d, nn.Linear, nn.Embedding)


def _xavier(module: nn.Module, gain: float, zero_bias: bool = True) -> None:
    nn.init.xavier_uniform_(raw_weight(module), gain=gain)
    if zero_bias and getattr(module, "bias", None) is not None:
        nn.init.zeros_(module.bias)


def _constant_embedding(name: str, module: nn.Module) -> None:
    # MMagic's rule goes by the module's name: '...weight_embedding' -> 1, '...bias_embedding' -> 0
    if "weight" in name:
        nn.init.constant_(raw_weight(module), 1.0)
    if "bias" in name:
        nn.init.constant_(raw_weight(module), 0.0)


def init_network(network: nn.Module, init_type: str, generator: bool) -> None:
    """Every Conv2d / Linear / Embedding of ``network`` as MMagic's ``init_weights`` of the
    generator (``generator=True``) or the projection discriminator does it."""
    for name, module in network.named_modules():
        if not isinstance(module, _LAYERS):
            continue
        if init_type == "STUDIO":
            nn.init.orthogonal_(raw_weight(module))
            if getattr(module, "bias", None) is not None:
                nn.init.zeros_(module.bias)
        elif init_type == "BIGGAN":
            nn.init.xavier_uniform_(raw_weight(module), gain=1.0)
        elif init_type == "SAGAN":
            if generator and isinstance(module, nn.Embedding):
                _constant_embedding(name, module)
            else:
                _xavier(module, 1.0)
        elif isinstance(module, nn.Conv2d):  # the SNGAN family
            plain = "shortcut" in name or (generator and "to_rgb" in name)
            _xavier(module, 1.0 if plain else math.sqrt(2))
        elif generator and isinstance(module, nn.Embedding):
            _constant_embedding(name, module)
        else:
            _xavier(module, 1.0)


__all__ = ["init_network"]
