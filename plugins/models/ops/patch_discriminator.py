"""MMagic's ``PatchDiscriminator`` (PatchGAN, Pix2Pix and CycleGAN): a map of real/fake logits,
one per overlapping patch. Layout and state-dict keys (``model.<i>.conv|bn.*``) are MMagic's."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from mgx.core.errors import ConfigError

from .conv_module import ConvModule, generation_init_weights, init_type_and_gain, norm_type

_LEAKY = dict(type="LeakyReLU", negative_slope=0.2)


def positive_int(value: Any, name: str, who: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{who}: {name} must be a positive int, got {value!r}")
    return value


class PatchDiscriminator(nn.Module):
    """4×4 convs: stride 2 from ``in_channels`` to ``base_channels`` (no norm), ``num_conv - 1`` more stride-2
    layers doubling the width (at most ×8), one stride-1 layer, then a stride-1 conv to one logit per patch.
    Norm layers' convs have a bias only for ``IN`` (MMagic's rule)."""

    def __init__(self, in_channels: int, base_channels: int = 64, num_conv: int = 3,
                 norm_cfg: dict = dict(type="BN"), init_cfg: dict | None = dict(type="normal", gain=0.02)) -> None:
        super().__init__()
        who = "PatchDiscriminator"
        for name, value in (("in_channels", in_channels), ("base_channels", base_channels), ("num_conv", num_conv)):
            positive_int(value, name, who)
        if norm_type(norm_cfg, who) is None:
            raise ConfigError(f"{who}: norm_cfg must be dict(type='BN') or dict(type='IN'), got None")
        use_bias = norm_cfg["type"].startswith("IN")
        self.in_channels = in_channels
        layers: list[nn.Module] = [ConvModule(in_channels, base_channels, 4, 2, 1, bias=True, norm_cfg=None,
                                              act_cfg=_LEAKY, who=who)]
        multiple = 1
        for index in range(1, num_conv):
            previous, multiple = multiple, min(2 ** index, 8)
            layers.append(ConvModule(base_channels * previous, base_channels * multiple, 4, 2, 1, bias=use_bias,
                                     norm_cfg=norm_cfg, act_cfg=_LEAKY, who=who))
        previous, multiple = multiple, min(2 ** num_conv, 8)
        layers.append(ConvModule(base_channels * previous, base_channels * multiple, 4, 1, 1, bias=use_bias,
                                 norm_cfg=norm_cfg, act_cfg=_LEAKY, who=who))
        layers.append(nn.Conv2d(base_channels * multiple, 1, 4, 1, 1))
        self.model = nn.Sequential(*layers)
        generation_init_weights(self, *init_type_and_gain(init_cfg, who))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"PatchDiscriminator: input must be N×{self.in_channels}×H×W, got {tuple(x.shape)}")
        return self.model(x)


__all__ = ["PatchDiscriminator", "positive_int"]
