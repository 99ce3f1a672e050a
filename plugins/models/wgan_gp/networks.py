"""MMagic's ``WGANGPGenerator`` and ``WGANGPDiscriminator`` (PGGAN's configuration (a), as MMagic 1.2.0
builds them): fixed widths per resolution (4..8: 512, 16: 256, 32: 128, 64: 64, 128: 32), 3×3 conv
modules from ``conv_module_cfg``, nearest ×2 up-sampling / 2×2 average pooling.

State-dict keys are MMagic's: ``noise2feat.linear|bias|norm``, ``conv_blocks.<i>.conv|bn``,
``to_rgb.conv``; ``from_rgb.conv``, ``conv_blocks.<i>.conv|LN2d|GN``, ``decision.conv.conv|LN2d|GN``,
``decision.linear``. As MMagic's ``ConvLNModule``, a layer- or group-normed conv keeps its bias and its
norm is named after the norm type; ``GN`` is GroupNorm with one group (layer norm over C, H, W).
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from mgx.core.errors import ConfigError

from ..ops.conv_module import ACTIVATIONS, NORMS, ConvModule, override_settings

CHANNELS = {4: 512, 8: 512, 16: 256, 32: 128, 64: 64, 128: 32}
_GENERATOR_CONV = dict(conv_cfg=None, kernel_size=3, stride=1, padding=1, bias=True, act_cfg=dict(type="ReLU"),
                       norm_cfg=dict(type="BN"), order=("conv", "norm", "act"))
_DISCRIMINATOR_CONV = dict(conv_cfg=None, kernel_size=3, stride=1, padding=1, bias=True,
                           act_cfg=dict(type="LeakyReLU", negative_slope=0.2), norm_cfg=dict(type="LN2d"),
                           order=("conv", "norm", "act"))
_LEAKY = dict(type="LeakyReLU", negative_slope=0.2)


def _scale_log2(scale: Any, name: str, who: str) -> int:
    if isinstance(scale, bool) or not isinstance(scale, int) or scale not in CHANNELS or scale < 8:
        raise ConfigError(f"{who}: {name} must be one of 8, 16, 32, 64, 128 (MMagic's width table), got {scale!r}")
    return int(math.log2(scale))


def _conv_settings(conv_module_cfg: Any, defaults: dict, who: str) -> dict:
    settings = override_settings(defaults, conv_module_cfg, "conv_module_cfg", who)
    if settings.pop("conv_cfg") not in (None, dict(type="Conv2d")):
        raise ConfigError(f"{who}: conv_module_cfg.conv_cfg must be None (Conv2d)")
    return settings


def conv_ln_module(in_channels: int, out_channels: int, feature_shape: tuple, settings: dict, who: str) -> ConvModule:
    """MMagic's ``ConvLNModule``: ConvModule, but an ``LN2d``/``GN`` norm is added after the conv was built
    without one (so the conv keeps its bias) and is named after its type."""
    norm_cfg = settings.get("norm_cfg")
    kind = norm_cfg.get("type") if isinstance(norm_cfg, dict) else None
    if kind not in ("LN2d", "GN"):
        return ConvModule(in_channels, out_channels, who=who, **settings)
    module = ConvModule(in_channels, out_channels, who=who, **{**settings, "norm_cfg": None})
    norm = nn.LayerNorm(feature_shape) if kind == "LN2d" else nn.GroupNorm(1, feature_shape[0])
    module.add_module(kind, norm)
    module.norm_name = kind
    return module


class WGANNoiseTo2DFeat(nn.Module):
    """noise -> bias-free Linear to out_channels×4×4 (+ a per-channel ``bias``) -> act -> norm (``order``)."""

    def __init__(self, noise_size: int, out_channels: int, act_cfg: dict | None = dict(type="ReLU"),
                 norm_cfg: dict | None = dict(type="BN"), order: tuple = ("linear", "act", "norm")) -> None:
        super().__init__()
        who = "WGANGPGenerator"
        if sorted(order) != ["act", "linear", "norm"]:
            raise ConfigError(f"{who}: noise2feat order must arrange 'linear', 'act', 'norm', got {order!r}")
        self.noise_size, self.out_channels, self.order = noise_size, out_channels, tuple(order)
        self.linear = nn.Linear(noise_size, out_channels * 16, bias=False)
        self.activation = None if act_cfg is None else ACTIVATIONS[act_cfg["type"]](
            **{k: v for k, v in act_cfg.items() if k != "type"})
        self.bias = nn.Parameter(torch.zeros(1, out_channels, 1, 1))
        self.norm = None if norm_cfg is None else NORMS[norm_cfg["type"]][0](out_channels)
        nn.init.normal_(self.linear.weight, 0.0, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for step in self.order:
            if step == "linear":
                x = self.linear(x).reshape(-1, self.out_channels, 4, 4) + self.bias
            elif step == "act" and self.activation is not None:
                x = self.activation(x)
            elif step == "norm" and self.norm is not None:
                x = self.norm(x)
        return x


class WGANGPGenerator(nn.Module):
    """noise N×noise_size -> 512×4×4 -> conv -> (nearest ×2, conv, conv) per doubling -> 1×1 conv to RGB, Tanh."""

    def __init__(self, noise_size: int, out_scale: int, conv_module_cfg: dict | None = None,
                 upsample_cfg: dict | None = None, init_cfg: dict | None = None) -> None:
        super().__init__()
        who = "WGANGPGenerator"
        if init_cfg is not None:
            raise ConfigError(f"{who}: init_cfg is not supported; load MMagic weights with load_from")
        if upsample_cfg not in (None, dict(type="nearest", scale_factor=2)):
            # MMagic 1.2.0 stores upsample_cfg but always builds nearest ×2
            raise ConfigError(f"{who}: upsample_cfg must be None or dict(type='nearest', scale_factor=2) (MMagic "
                              f"builds nearest ×2 whatever it says), got {upsample_cfg!r}")
        if isinstance(noise_size, bool) or not isinstance(noise_size, int) or noise_size < 1:
            raise ConfigError(f"{who}: noise_size must be a positive int, got {noise_size!r}")
        settings = _conv_settings(conv_module_cfg, _GENERATOR_CONV, who)
        self.noise_size, self.out_scale = noise_size, out_scale
        self.output_scale, self.out_channels = out_scale, 3  # the names mgx's GAN models check
        self.noise2feat = WGANNoiseTo2DFeat(noise_size, CHANNELS[4])
        blocks: list[nn.Module] = [ConvModule(512, 512, who=who, **settings)]
        for level in range(3, _scale_log2(out_scale, "out_scale", who) + 1):
            blocks.append(nn.Upsample(scale_factor=2, mode="nearest"))
            blocks.append(ConvModule(CHANNELS[2 ** (level - 1)], CHANNELS[2 ** level], who=who, **settings))
            blocks.append(ConvModule(CHANNELS[2 ** level], CHANNELS[2 ** level], who=who, **settings))
        self.conv_blocks = nn.ModuleList(blocks)
        self.to_rgb = ConvModule(CHANNELS[out_scale], 3, 1, act_cfg=dict(type="Tanh"), who=who)

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        if noise.dim() != 2 or noise.shape[1] != self.noise_size:
            raise ValueError(f"WGANGPGenerator: noise must be N×{self.noise_size}, got {tuple(noise.shape)}")
        x = self.noise2feat(noise)
        for block in self.conv_blocks:
            x = block(x)
        return self.to_rgb(x)


class WGANDecisionHead(nn.Module):
    """4×4 valid conv (+ norm, act) to ``mid_channels``×1×1, then a Linear to ``out_channels``."""

    def __init__(self, in_channels: int, mid_channels: int, out_channels: int, norm_cfg: dict | None,
                 who: str) -> None:
        super().__init__()
        settings = dict(kernel_size=4, act_cfg=_LEAKY, norm_cfg=norm_cfg, order=("conv", "norm", "act"))
        self.conv = conv_ln_module(in_channels, mid_channels, (mid_channels, 1, 1), settings, who)
        self.linear = nn.Linear(mid_channels, out_channels)
        nn.init.normal_(self.linear.weight, 0.0, 1.0)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.conv(x).reshape(x.shape[0], -1))


class WGANGPDiscriminator(nn.Module):
    """RGB in_scale² -> 1×1 conv -> (conv, conv, 2×2 average pool) per halving down to 4×4 -> decision head."""

    def __init__(self, in_channel: int, in_scale: int, conv_module_cfg: dict | None = None,
                 init_cfg: dict | None = None) -> None:
        super().__init__()
        who = "WGANGPDiscriminator"
        if init_cfg is not None:
            raise ConfigError(f"{who}: init_cfg is not supported; load MMagic weights with load_from")
        if in_channel != 3:  # MMagic's from_rgb takes 3 channels whatever in_channel says
            raise ConfigError(f"{who}: in_channel must be 3 (MMagic's from_rgb is built for RGB), got {in_channel!r}")
        settings = _conv_settings(conv_module_cfg, _DISCRIMINATOR_CONV, who)
        top = _scale_log2(in_scale, "in_scale", who)
        self.in_channel, self.in_scale = in_channel, in_scale
        self.input_scale, self.in_channels = in_scale, 3  # the names mgx's GAN models check
        self.from_rgb = ConvModule(3, CHANNELS[in_scale], 1, act_cfg=_LEAKY, who=who)
        blocks: list[nn.Module] = []
        for level in range(top, 2, -1):
            width, narrower = CHANNELS[2 ** level], CHANNELS[2 ** (level - 1)]
            blocks.append(conv_ln_module(width, width, (width, 2 ** level, 2 ** level), settings, who))
            blocks.append(conv_ln_module(width, narrower, (narrower, 2 ** level, 2 ** level), settings, who))
            blocks.append(nn.AvgPool2d(kernel_size=2, stride=2))
        self.conv_blocks = nn.ModuleList(blocks)
        self.decision = WGANDecisionHead(512, 512, 1, settings.get("norm_cfg"), who)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1:] != (3, self.in_scale, self.in_scale):
            raise ValueError(f"WGANGPDiscriminator: images must be N×3×{self.in_scale}×{self.in_scale}, "
                             f"got {tuple(x.shape)}")
        x = self.from_rgb(x)
        for block in self.conv_blocks:
            x = block(x)
        return self.decision(x)


__all__ = ["WGANGPDiscriminator", "WGANGPGenerator", "conv_ln_module"]
