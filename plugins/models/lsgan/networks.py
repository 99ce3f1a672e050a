"""MMagic's ``LSGANGenerator`` and ``LSGANDiscriminator`` (Mao et al. 2017, as MMagic 1.2.0 builds them).

Layout and state-dict keys are MMagic's: ``noise2feat_head.0`` (Linear), ``noise2feat_tail.0`` (BatchNorm),
``conv_blocks.<i>.conv|bn`` (MMCV ConvModules: no conv bias under a norm) and ``decision.0`` (Linear).
Convs start as MMCV initialises them (Kaiming, fan_out); linear layers as PyTorch does.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from mgx.core.errors import ConfigError

from ..ops.conv_module import ACTIVATIONS, ConvModule
from ..ops.patch_discriminator import positive_int


def _checked_doublings(who: str, init_cfg: Any, conv_cfg: Any, conv_type: str, scales: dict, minimum: int,
                       sizes: dict) -> int:
    """The arguments both LSGAN networks share, checked; returns log2 of the ratio of the two ``scales``
    (larger first), which must be a power of two ≥ ``minimum``."""
    if init_cfg is not None:
        raise ConfigError(f"{who}: init_cfg is not supported; load MMagic weights with load_from")
    if not isinstance(conv_cfg, dict) or conv_cfg.get("type", conv_type) != conv_type or set(conv_cfg) - {"type"}:
        raise ConfigError(f"{who}: conv_cfg must be dict(type={conv_type!r}) (MMagic's only layout), got {conv_cfg!r}")
    for name, value in {**scales, **sizes}.items():
        positive_int(value, name, who)
    (large_name, large), (small_name, small) = scales.items()
    ratio = large // small
    if large % small or ratio < minimum or ratio & (ratio - 1):
        raise ConfigError(f"{who}: {large_name}={large} / {small_name}={small} must be a power of two ≥ {minimum}")
    return int(math.log2(ratio))


class LSGANGenerator(nn.Module):
    """noise N×noise_size -> Linear -> base_channels×input_scale² -> BN, act -> (stride-2 up-conv, conv) ×
    (log2(output_scale/input_scale) − 2) -> two stride-2 up-convs halving the width -> 3×3 conv to
    ``out_channels`` with ``out_act_cfg``. All convs 3×3 transposed."""

    def __init__(self, output_scale: int = 128, out_channels: int = 3, base_channels: int = 256, input_scale: int = 8,
                 noise_size: int = 1024, conv_cfg: dict = dict(type="ConvTranspose2d"),
                 default_norm_cfg: dict | None = dict(type="BN"), default_act_cfg: dict | None = dict(type="ReLU"),
                 out_act_cfg: dict | None = dict(type="Tanh"), init_cfg: dict | None = None) -> None:
        super().__init__()
        who = "LSGANGenerator"
        doublings = _checked_doublings(who, init_cfg, conv_cfg, "ConvTranspose2d",
                                       dict(output_scale=output_scale, input_scale=input_scale), 4,
                                       dict(out_channels=out_channels, base_channels=base_channels,
                                            noise_size=noise_size))
        if base_channels % 4:
            raise ConfigError(f"{who}: base_channels must be a multiple of 4 (it is quartered), got {base_channels}")
        self.output_scale, self.input_scale, self.out_channels = output_scale, input_scale, out_channels
        self.base_channels, self.noise_size = base_channels, noise_size
        self.noise2feat_head = nn.Sequential(nn.Linear(noise_size, input_scale * input_scale * base_channels))
        self.noise2feat_tail = nn.Sequential(nn.BatchNorm2d(base_channels))
        if default_act_cfg is not None:  # MMagic builds it from its registry: not in place
            if not isinstance(default_act_cfg, dict) or default_act_cfg.get("type") not in ACTIVATIONS:
                raise ConfigError(f"{who}: default_act_cfg must be dict(type=one of {list(ACTIVATIONS)}), "
                                  f"got {default_act_cfg!r}")
            self.noise2feat_tail.add_module("act", ACTIVATIONS[default_act_cfg["type"]](
                **{k: v for k, v in default_act_cfg.items() if k != "type"}))
        layer = dict(transposed=True, norm_cfg=default_norm_cfg, act_cfg=default_act_cfg, who=who)
        blocks = []
        for _ in range(doublings - 2):
            blocks.append(ConvModule(base_channels, base_channels, 3, 2, 1, output_padding=1, **layer))
            blocks.append(ConvModule(base_channels, base_channels, 3, 1, 1, **layer))
        blocks.append(ConvModule(base_channels, base_channels // 2, 3, 2, 1, output_padding=1, **layer))
        blocks.append(ConvModule(base_channels // 2, base_channels // 4, 3, 2, 1, output_padding=1, **layer))
        blocks.append(ConvModule(base_channels // 4, out_channels, 3, 1, 1, transposed=True, norm_cfg=None,
                                 act_cfg=out_act_cfg, who=who))
        self.conv_blocks = nn.ModuleList(blocks)

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        if noise.dim() != 2 or noise.shape[1] != self.noise_size:
            raise ValueError(f"LSGANGenerator: noise must be N×{self.noise_size}, got {tuple(noise.shape)}")
        x = self.noise2feat_head(noise).reshape(-1, self.base_channels, self.input_scale, self.input_scale)
        x = self.noise2feat_tail(x)
        for block in self.conv_blocks:
            x = block(x)
        return x


class LSGANDiscriminator(nn.Module):
    """5×5 stride-2 convs: ``in_channels`` -> ``base_channels`` (no norm), then doubling the width down to
    ``output_scale``; a Linear to ``out_channels`` (``out_act_cfg`` after it when given)."""

    def __init__(self, input_scale: int = 128, output_scale: int = 8, out_channels: int = 1, in_channels: int = 3,
                 base_channels: int = 64, conv_cfg: dict = dict(type="Conv2d"),
                 default_norm_cfg: dict | None = dict(type="BN"),
                 default_act_cfg: dict | None = dict(type="LeakyReLU", negative_slope=0.2),
                 out_act_cfg: dict | None = None, init_cfg: dict | None = None) -> None:
        super().__init__()
        who = "LSGANDiscriminator"
        doublings = _checked_doublings(who, init_cfg, conv_cfg, "Conv2d",
                                       dict(input_scale=input_scale, output_scale=output_scale), 2,
                                       dict(out_channels=out_channels, in_channels=in_channels,
                                            base_channels=base_channels))
        self.input_scale, self.output_scale, self.in_channels = input_scale, output_scale, in_channels
        self.out_channels = out_channels
        blocks = [ConvModule(in_channels, base_channels, 5, 2, 2, norm_cfg=None, act_cfg=default_act_cfg, who=who)]
        channels = base_channels
        for _ in range(doublings - 1):
            blocks.append(ConvModule(channels, channels * 2, 5, 2, 2, norm_cfg=default_norm_cfg,
                                     act_cfg=default_act_cfg, who=who))
            channels *= 2
        self.conv_blocks = nn.ModuleList(blocks)
        self.decision = nn.Sequential(nn.Linear(output_scale * output_scale * channels, out_channels))
        self.out_activation = None
        if out_act_cfg is not None:
            if not isinstance(out_act_cfg, dict) or out_act_cfg.get("type") not in ACTIVATIONS:
                raise ConfigError(f"{who}: out_act_cfg must be None or dict(type=one of {list(ACTIVATIONS)})")
            self.out_activation = ACTIVATIONS[out_act_cfg["type"]](
                **{k: v for k, v in out_act_cfg.items() if k != "type"})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1:] != (self.in_channels, self.input_scale, self.input_scale):
            raise ValueError(f"LSGANDiscriminator: images must be N×{self.in_channels}×{self.input_scale}×"
                             f"{self.input_scale}, got {tuple(x.shape)}")
        for block in self.conv_blocks:
            x = block(x)
        x = self.decision(x.reshape(x.shape[0], -1))
        return self.out_activation(x) if self.out_activation is not None else x


__all__ = ["LSGANDiscriminator", "LSGANGenerator"]
