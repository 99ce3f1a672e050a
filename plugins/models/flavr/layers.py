"""FLAVR's 3D blocks under MMagic's keys: mmcv's ConvModule layout for 3D convs (``conv``, ``bn``),
the feature gate ``SEGating``, the gated convs of the decoder and the encoder's residual block."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn


class Conv3dModule(nn.Module):
    """mmcv's ConvModule with a Conv3d (or, ``two_d``, a Conv2d): ``conv``, optional ``bn`` (BN3d/BN),
    optional ReLU (LeakyReLU with ``slope``); weights Kaiming-normal fan-out as mmcv draws them."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any, padding: Any,
                 bias: bool, norm_cfg: Any, act: bool, two_d: bool = False, slope: float | None = None) -> None:
        super().__init__()
        conv = nn.Conv2d if two_d else nn.Conv3d
        self.conv = conv(in_channels, out_channels, kernel_size, stride, padding, bias=bias)
        if norm_cfg is not None:
            self.bn = (nn.BatchNorm2d if two_d else nn.BatchNorm3d)(out_channels)
        self.activate = (nn.LeakyReLU(slope, inplace=True) if slope is not None else nn.ReLU(inplace=True)) \
            if act else None
        nn.init.kaiming_normal_(self.conv.weight, a=slope or 0.0, mode="fan_out",
                                nonlinearity="leaky_relu" if slope is not None else "relu")
        if self.conv.bias is not None:
            nn.init.zeros_(self.conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if hasattr(self, "bn"):
            x = self.bn(x)
        return self.activate(x) if self.activate is not None else x


class SEGating(nn.Module):
    """x · sigmoid(conv1×1×1(mean over T, H, W of x)): a per-channel gate."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.attn_layer = nn.Sequential(nn.Conv3d(in_channels, in_channels, kernel_size=1, stride=1, bias=True),
                                        nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.attn_layer(self.pool(x))


class Conv3dGated(nn.Module):
    """Conv3d + SEGating (+ BatchNorm3d): MMagic's FLAVR ``Conv3d`` (keys ``conv.0``, ``conv.1``, ``conv.2``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 bias: bool = True, batchnorm: bool = False) -> None:
        super().__init__()
        layers = [nn.Conv3d(in_channels, out_channels, kernel_size, stride, padding, bias=bias),
                  SEGating(out_channels)]
        self.conv = nn.Sequential(*layers, *([nn.BatchNorm3d(out_channels)] if batchnorm else []))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class UpConv3d(nn.Module):
    """Spatial ×2 up-convolution + SEGating (+ BatchNorm3d): a transposed Conv3d ('transpose'), else a
    trilinear ×(1, 2, 2) upsample and a 1×1×1 conv (keys ``upconv.{i}``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any, padding: Any,
                 up_mode: str = "transpose", batchnorm: bool = False) -> None:
        super().__init__()
        if up_mode == "transpose":
            layers = [nn.ConvTranspose3d(in_channels, out_channels, kernel_size, stride, padding)]
        else:
            layers = [nn.Upsample(mode="trilinear", scale_factor=(1, 2, 2), align_corners=False),
                      nn.Conv3d(in_channels, out_channels, kernel_size=1, stride=1)]
        layers.append(SEGating(out_channels))
        self.upconv = nn.Sequential(*layers, *([nn.BatchNorm3d(out_channels)] if batchnorm else []))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.upconv(x)


class ResBlock3d(nn.Module):
    """relu(fg(conv2(conv1(x))) + downsample(x)): MMagic's FLAVR ``BasicBlock`` (3×3×3 convs, a feature gate)."""

    def __init__(self, in_channels: int, mid_channels: int, stride: Any = (1, 1, 1), norm_cfg: Any = None,
                 bias: bool = False, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = Conv3dModule(in_channels, mid_channels, 3, stride, 1, bias, norm_cfg, act=True)
        self.conv2 = Conv3dModule(mid_channels, mid_channels, 3, 1, 1, bias, norm_cfg, act=False)
        self.fg = SEGating(mid_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        return self.relu(self.fg(self.conv2(self.conv1(x))) + residual)
