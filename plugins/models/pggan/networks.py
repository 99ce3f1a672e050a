"""MMagic's ``PGGANGenerator`` and ``PGGANDiscriminator`` (Karras et al. 2018), their arguments,
defaults and state-dict keys.

Widths: ``ch(l) = min(int(base_channels / 2^(l · channel_decay)), max_channels)``; the 2^s-pixel stage
of the generator has ``ch(s-1)`` channels. Generator: pixel-normed noise -> ``noise2feat`` (linear to
ch(1)×4×4, + bias, LeakyReLU, pixel norm) -> ``conv_blocks`` (one 3×3 conv at 4 px, then per doubling a
fused up-conv and a 3×3 conv, each LeakyReLU + pixel norm) -> a 1×1 ``torgb_layers`` per scale.
Discriminator: the mirror image (``fromrgb_layers``, ``conv_blocks`` with fused 2×2 pooling),
minibatch stddev, and ``decision`` (two equalized linears).

Progressive growing: at ``curr_scale`` 2^s with ``transition_weight`` t the generator returns
``up(rgb_{s-1}) + t · (rgb_s − up(rgb_{s-1}))`` and the discriminator blends its new from-RGB path with
the previous one fed the 2×2-pooled image the same way.

State-dict keys: ``noise2feat.linear.weight_orig``, ``noise2feat.bias``, ``conv_blocks.<i>.conv.weight_orig``
/``.bias``, ``torgb_layers.<i>.conv.*``; ``fromrgb_layers.<i>.conv.*``, ``conv_blocks.<i>.conv.*``,
``decision.linear0|linear1.weight_orig``/``.bias``.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError

from ..ops.conv_module import override_settings
from ..ops.equalized_lr import EqualizedConvModule, EqualizedLinear, PixelNorm, minibatch_stddev, pixel_norm

_LEAKY = dict(type="LeakyReLU", negative_slope=0.2)
_GEN_CONV = dict(conv_cfg=None, kernel_size=3, stride=1, padding=1, bias=True, act_cfg=_LEAKY,
                 norm_cfg=dict(type="PixelNorm"), order=("conv", "act", "norm"))
_GEN_FUSED_UP = {**_GEN_CONV, "conv_cfg": dict(type="deconv"), "stride": 2}
_DISC_CONV = dict(conv_cfg=None, kernel_size=3, padding=1, stride=1, bias=True, norm_cfg=None, act_cfg=_LEAKY,
                  order=("conv", "norm", "act"))
_DISC_FUSED_DOWN = {**_DISC_CONV, "stride": 2}
_FROM_RGB = dict(conv_cfg=None, kernel_size=1, stride=1, padding=0, bias=True, act_cfg=_LEAKY, norm_cfg=None,
                 order=("conv", "act", "norm"))


def _settings(defaults: dict, override: Any, name: str, who: str) -> dict:
    return override_settings(defaults, override or None, name, who)


def _module(in_channels: int, out_channels: int, settings: dict, who: str, **extra) -> EqualizedConvModule:
    settings = dict(settings)
    conv_cfg = settings.pop("conv_cfg")
    expected = dict(type="deconv") if extra.get("kind") == "deconv_fused_up" else None
    if conv_cfg not in (expected, dict(type="Conv2d") if expected is None else expected):
        raise ConfigError(f"{who}: conv_cfg must be {expected!r} here, got {conv_cfg!r}")
    if extra.get("kind", "conv") != "conv" and (settings["kernel_size"], settings["padding"]) != (3, 1):
        raise ConfigError(f"{who}: the fused up/down convs are 3×3 with padding 1 (MMagic's fused hooks), got "
                          f"kernel_size={settings['kernel_size']}, padding={settings['padding']}")
    return EqualizedConvModule(in_channels, out_channels, who=who, **settings, **extra)


def _log2_scale(scale: Any, name: str, who: str) -> int:
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 4 or scale & (scale - 1):
        raise ConfigError(f"{who}: {name} must be a power of two ≥ 4, got {scale!r}")
    return int(math.log2(scale))


def _no_labels(label_size: Any, who: str) -> None:
    if label_size:
        raise ConfigError(f"{who}: label_size must be 0 (no MMagic config conditions PGGAN on labels)")


def _widths(base_channels: int, channel_decay: float, max_channels: int):
    return lambda log_scale: min(int(base_channels / (2.0 ** (log_scale * channel_decay))), max_channels)


class PGGANNoiseTo2DFeat(nn.Module):
    """(pixel norm of the noise) -> equalized linear (gain √2/4, no bias) to C×4×4, + ``bias`` -> act -> norm."""

    def __init__(self, noise_size: int, out_channels: int) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.linear = EqualizedLinear(noise_size, out_channels * 16, bias=False, gain=math.sqrt(2) / 4)
        self.activation = nn.LeakyReLU(0.2)
        self.bias = nn.Parameter(torch.zeros(1, out_channels, 1, 1))
        self.norm = PixelNorm()

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        x = self.linear(pixel_norm(noise)).reshape(-1, self.out_channels, 4, 4) + self.bias
        return self.norm(self.activation(x))


class PGGANGenerator(nn.Module):
    def __init__(self, noise_size: int, out_scale: int, label_size: int = 0, base_channels: int = 8192,
                 channel_decay: float = 1.0, max_channels: int = 512, fused_upconv: bool = True,
                 conv_module_cfg: dict | None = None, fused_upconv_cfg: dict | None = None,
                 upsample_cfg: dict | None = None) -> None:
        super().__init__()
        who = "PGGANGenerator"
        _no_labels(label_size, who)
        if upsample_cfg not in (None, dict(type="nearest", scale_factor=2)):
            raise ConfigError(f"{who}: upsample_cfg must be None or dict(type='nearest', scale_factor=2), "
                              f"got {upsample_cfg!r}")
        self.out_log2_scale = _log2_scale(out_scale, "out_scale", who)
        width = _widths(base_channels, channel_decay, max_channels)
        self.noise_size = noise_size if noise_size else min(base_channels, max_channels)
        self.out_scale = self.output_scale = out_scale
        self.out_channels, self.label_size = 3, label_size
        conv = _settings(_GEN_CONV, conv_module_cfg, "conv_module_cfg", who)
        fused = _settings(_GEN_FUSED_UP, fused_upconv_cfg, "fused_upconv_cfg", who)
        self.noise2feat = PGGANNoiseTo2DFeat(self.noise_size, width(1))
        self.torgb_layers = nn.ModuleList()
        self.conv_blocks = nn.ModuleList()
        rgb = dict(kernel_size=1, stride=1, padding=0, bias=True, gain=1.0)
        for s in range(2, self.out_log2_scale + 1):
            self.torgb_layers.append(EqualizedConvModule(width(s - 1), 3, who=who, **rgb))
            if s == 2:
                self.conv_blocks.append(_module(width(1), width(1), conv, who))
                continue
            # (the fused conv's stride-2 transposed convolution ignores the configured stride)
            self.conv_blocks.append(_module(width(s - 2), width(s - 1), fused, who, kind="deconv_fused_up")
                                    if fused_upconv else _module(width(s - 2), width(s - 1), conv, who, upsample=True))
            self.conv_blocks.append(_module(width(s - 1), width(s - 1), conv, who))

    def forward(self, noise: torch.Tensor, label: Any = None, num_batches: int = 0, return_noise: bool = False,
                transition_weight: Any = 1.0, curr_scale: int = -1) -> torch.Tensor:
        if noise.dim() != 2 or noise.shape[1] != self.noise_size:
            raise ValueError(f"PGGANGenerator: noise must be N×{self.noise_size}, got {tuple(noise.shape)}")
        x = self.conv_blocks[0](self.noise2feat(noise))
        top = self.out_log2_scale if curr_scale < 0 else int(math.log2(curr_scale))
        out = last = self.torgb_layers[0](x) if top <= 3 else None
        for s in range(3, top + 1):
            x = self.conv_blocks[2 * s - 4](self.conv_blocks[2 * s - 5](x))
            if s + 1 == top:
                last = self.torgb_layers[s - 2](x)
            elif s == top:
                previous = F.interpolate(last, scale_factor=2, mode="nearest")
                out = previous + transition_weight * (self.torgb_layers[s - 2](x) - previous)
        return dict(fake_img=out, noise_batch=noise, label=label) if return_noise else out


class PGGANDecisionHead(nn.Module):
    def __init__(self, in_channels: int, mid_channels: int, out_channels: int) -> None:
        super().__init__()
        self.linear0 = EqualizedLinear(in_channels, mid_channels, gain=math.sqrt(2))
        self.linear1 = EqualizedLinear(mid_channels, out_channels, gain=1.0)
        self.activation = nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear1(self.activation(self.linear0(x.reshape(x.shape[0], -1))))


class PGGANDiscriminator(nn.Module):
    def __init__(self, in_scale: int, label_size: int = 0, base_channels: int = 8192, max_channels: int = 512,
                 in_channels: int = 3, channel_decay: float = 1.0, mbstd_cfg: dict | None = dict(group_size=4),
                 fused_convdown: bool = True, conv_module_cfg: dict | None = None,
                 fused_convdown_cfg: dict | None = None, fromrgb_layer_cfg: dict | None = None,
                 downsample_cfg: dict | None = None) -> None:
        super().__init__()
        who = "PGGANDiscriminator"
        _no_labels(label_size, who)
        if downsample_cfg not in (None, dict(type="avgpool")):
            raise ConfigError(f"{who}: downsample_cfg must be None or dict(type='avgpool'), got {downsample_cfg!r}")
        if mbstd_cfg is not None and (not isinstance(mbstd_cfg, dict) or set(mbstd_cfg) - {"group_size", "eps"}):
            raise ConfigError(f"{who}: mbstd_cfg must be None or dict(group_size=..., eps=...), got {mbstd_cfg!r}")
        self.in_log2_scale = _log2_scale(in_scale, "in_scale", who)
        width = _widths(base_channels, channel_decay, max_channels)
        self.in_scale = self.input_scale = in_scale
        self.in_channels, self.label_size = in_channels, label_size
        self.mbstd_cfg = None if mbstd_cfg is None else {"group_size": 4, "eps": 1e-8, **mbstd_cfg}
        conv = _settings(_DISC_CONV, conv_module_cfg, "conv_module_cfg", who)
        fused = _settings(_DISC_FUSED_DOWN, fused_convdown_cfg, "fused_convdown_cfg", who)
        from_rgb = _settings(_FROM_RGB, fromrgb_layer_cfg, "fromrgb_layer_cfg", who)
        self.fromrgb_layers = nn.ModuleList()
        self.conv_blocks = nn.ModuleList()
        for s in range(2, self.in_log2_scale + 1):
            self.fromrgb_layers.append(_module(in_channels, width(s - 1), from_rgb, who))
            self.conv_blocks.append(_module(width(s - 1), width(s - 1), conv, who))
            if s == 2:
                continue
            self.conv_blocks.append(_module(width(s - 1), width(s - 2), fused, who, kind="conv_fused_down")
                                    if fused_convdown else _module(width(s - 1), width(s - 2), conv, who, downsample=True))
        extra = 16 if self.mbstd_cfg else 0
        self.decision = PGGANDecisionHead(width(1) * 16 + extra, width(0), 1 + label_size)

    def forward(self, x: torch.Tensor, transition_weight: Any = 1.0, curr_scale: int = -1) -> torch.Tensor:
        top = self.in_log2_scale if curr_scale < 4 else int(math.log2(curr_scale))
        if x.dim() != 4 or x.shape[2:] != (2 ** top, 2 ** top):
            raise ValueError(f"PGGANDiscriminator: images at scale {2 ** top} must be N×C×{2 ** top}×{2 ** top}, "
                             f"got {tuple(x.shape)}")
        image = x
        x = self.fromrgb_layers[top - 2](x)
        for s in range(top, 2, -1):
            x = self.conv_blocks[2 * s - 4](self.conv_blocks[2 * s - 5](x))
            if s == top:
                previous = self.fromrgb_layers[top - 3](F.avg_pool2d(image, 2, 2))
                x = previous + transition_weight * (x - previous)
        if self.mbstd_cfg:
            x = minibatch_stddev(x, **self.mbstd_cfg)
        return self.decision(x)


__all__ = ["PGGANDiscriminator", "PGGANGenerator"]
