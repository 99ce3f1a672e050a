"""Equalized learning rate, pixel norm and minibatch stddev: the layers of MMagic's ``pggan_modules``
(PGGAN, and StyleGAN's mapping/synthesis layers), with MMagic's attribute names so that state-dict keys
are MMagic's (``conv.weight_orig``, ``conv.bias``, ``linear.weight_orig``).

Equalized lr (Karras et al. 2018) stores the raw weight ``w`` (``weight_orig``, drawn N(0, 1)) and uses
``w · gain · sqrt(1 / fan_in) · lr_mul`` at every forward. ``fan_in`` is torch's ``fan_in`` of the stored
weight, as MMagic computes it: for a transposed conv (weight in×out×k×k) that is ``out·k·k``.

The fused layers fold a resampling into the conv (MMagic's ``fused_nn`` / ``fused_pool`` hooks): the 3×3
kernel is padded to 4×4 and summed over its four 1-pixel shifts (×¼ for the pool), then used with
stride 2 — a transposed conv for ×2 nearest up-sampling + conv, a conv for conv + 2×2 average pooling.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError

CONV_KINDS = ("conv", "deconv_fused_up", "conv_fused_down")


def equalized_scale(weight_shape: tuple, gain: float, lr_mul: float = 1.0) -> float:
    """``gain · sqrt(1 / fan_in) · lr_mul`` with torch's fan_in of a weight of this shape (dim 1 × kernel)."""
    receptive = math.prod(weight_shape[2:]) if len(weight_shape) > 2 else 1
    return gain * math.sqrt(1.0 / (weight_shape[1] * receptive)) * lr_mul


def shift_sum_kernel(weight: torch.Tensor) -> torch.Tensor:
    """A k×k kernel padded to (k+1)×(k+1) and summed over its four 1-pixel shifts."""
    padded = F.pad(weight, (1, 1, 1, 1))
    return padded[..., 1:, 1:] + padded[..., 1:, :-1] + padded[..., :-1, 1:] + padded[..., :-1, :-1]


def pixel_norm(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """``x / (‖x‖₂ over channels / sqrt(C) + eps)`` (MMagic's ``pixel_norm``)."""
    norm = torch.linalg.vector_norm(x, ord=2, dim=1, keepdim=True) / math.sqrt(x.shape[1])
    return x / (norm + eps)


class PixelNorm(nn.Module):
    def __init__(self, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return pixel_norm(x, self.eps)


class EqualizedConv(nn.Module):
    """A conv whose raw weight is ``weight_orig`` (N(0, 1)), scaled at each forward; ``kind`` as in
    :data:`CONV_KINDS` (the fused ones always use stride 2, padding 1)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 bias: bool = True, gain: float = math.sqrt(2), kind: str = "conv") -> None:
        super().__init__()
        shape = (in_channels, out_channels) if kind == "deconv_fused_up" else (out_channels, in_channels)
        self.weight_orig = nn.Parameter(torch.randn(*shape, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.kind, self.stride, self.padding = kind, stride, padding
        self.scale = equalized_scale(tuple(self.weight_orig.shape), gain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.weight_orig * self.scale
        if self.kind == "deconv_fused_up":
            return F.conv_transpose2d(x, shift_sum_kernel(weight), self.bias, stride=2, padding=1)
        if self.kind == "conv_fused_down":
            return F.conv2d(x, shift_sum_kernel(weight) * 0.25, self.bias, stride=2, padding=1)
        return F.conv2d(x, weight, self.bias, stride=self.stride, padding=self.padding)


class EqualizedLinear(nn.Module):
    """``y = x (weight_orig · scale)ᵀ + bias``, raw weight N(0, 1/lr_mul), bias zero (MMagic's
    ``EqualizedLRLinearModule``: its bias is not scaled by lr_mul)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, gain: float = math.sqrt(2),
                 lr_mul: float = 1.0) -> None:
        super().__init__()
        self.weight_orig = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        self.scale = equalized_scale((out_features, in_features), gain, lr_mul)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight_orig * self.scale, self.bias)


def _activation(act_cfg: Any, who: str) -> nn.Module | None:
    if act_cfg is None:
        return None
    if not isinstance(act_cfg, dict) or act_cfg.get("type") not in ("LeakyReLU", "ReLU"):
        raise ConfigError(f"{who}: act_cfg must be None, dict(type='LeakyReLU', negative_slope=...) or "
                          f"dict(type='ReLU'), got {act_cfg!r}")
    if act_cfg["type"] == "ReLU":
        return nn.ReLU()
    return nn.LeakyReLU(float(act_cfg.get("negative_slope", 0.01)))


class EqualizedConvModule(nn.Module):
    """MMCV's ``ConvModule`` layout around an :class:`EqualizedConv` (``conv``), an optional
    :class:`PixelNorm` and activation in ``order``; ``upsample`` (nearest ×2 before the conv) or
    ``downsample`` (2×2 average pooling after it) when not fused."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1, padding: int = 0,
                 bias: bool = True, act_cfg: Any = None, norm_cfg: Any = None,
                 order: tuple = ("conv", "norm", "act"), gain: float = math.sqrt(2), kind: str = "conv",
                 upsample: bool = False, downsample: bool = False, who: str = "EqualizedLRConvModule") -> None:
        super().__init__()
        if norm_cfg not in (None, dict(type="PixelNorm")):
            raise ConfigError(f"{who}: norm_cfg must be None or dict(type='PixelNorm'), got {norm_cfg!r}")
        if sorted(order) != ["act", "conv", "norm"]:
            raise ConfigError(f"{who}: order must arrange 'conv', 'norm', 'act', got {order!r}")
        self.order, self.upsample, self.downsample = tuple(order), upsample, downsample
        self.conv = EqualizedConv(in_channels, out_channels, kernel_size, stride, padding, bias, gain, kind)
        self.norm = PixelNorm() if norm_cfg else None
        self.activate = _activation(act_cfg, who)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        for step in self.order:
            if step == "conv":
                x = self.conv(x)
            elif step == "norm" and self.norm is not None:
                x = self.norm(x)
            elif step == "act" and self.activate is not None:
                x = self.activate(x)
        return F.avg_pool2d(x, 2, 2) if self.downsample else x


def minibatch_stddev(x: torch.Tensor, group_size: int = 4, eps: float = 1e-8) -> torch.Tensor:
    """Appends one channel: the stddev over each group of ``min(N, group_size)`` samples (samples
    ``g·(N/G) + j`` for j fixed form a group), averaged over C, H, W (MMagic's ``MiniBatchStddevLayer``)."""
    n, c, h, w = x.shape
    if n > group_size and n % group_size:
        raise ValueError(f"minibatch stddev: the batch ({n}) must be ≤ group_size ({group_size}) or a multiple "
                         f"of it; change the batch size (or mbstd_cfg.group_size)")
    groups = min(n, group_size)
    y = x.reshape(groups, -1, c, h, w)
    y = torch.sqrt((y - y.mean(dim=0, keepdim=True)).square().mean(dim=0) + eps)
    y = y.mean(dim=(1, 2, 3), keepdim=True).repeat(groups, 1, h, w)
    return torch.cat([x, y], dim=1)


__all__ = ["CONV_KINDS", "EqualizedConv", "EqualizedConvModule", "EqualizedLinear", "PixelNorm", "equalized_scale",
           "minibatch_stddev", "pixel_norm", "shift_sum_kernel"]
