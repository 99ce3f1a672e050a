"""Layers the super-resolution families share (MMagic's ``archs/sr_backbone.py`` and ``upsample.py``):
residual blocks, pixel-shuffle upsampling, init, scale checks."""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError


def scaled_kaiming_init(module: nn.Module, scale: float = 1.0) -> None:
    """Kaiming-normal (fan_in, ReLU gain) convs/linears with zero bias, weights × ``scale``.

    The ESRGAN paper's trick: residual branches start small (scale 0.1), so a
    deep stack of them starts close to the identity.
    """
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(layer.weight, a=0, mode="fan_in", nonlinearity="relu")
            layer.weight.data.mul_(scale)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.modules.batchnorm._BatchNorm):
            nn.init.ones_(layer.weight)
            nn.init.zeros_(layer.bias)


def stack(make_block: Callable[[], nn.Module], count: int) -> nn.Sequential:
    return nn.Sequential(*(make_block() for _ in range(count)))


class ResidualBlockNoBN(nn.Module):
    """x + res_scale · conv(relu(conv(x))), 3×3 convs, no normalisation (EDSR, MSRResNet)."""

    def __init__(self, mid_channels: int = 64, res_scale: float = 1.0) -> None:
        super().__init__()
        self.res_scale = res_scale
        self.conv1 = nn.Conv2d(mid_channels, mid_channels, 3, 1, 1)
        self.conv2 = nn.Conv2d(mid_channels, mid_channels, 3, 1, 1)
        self.relu = nn.ReLU(inplace=True)
        if res_scale == 1.0:  # MSRResNet's small init; EDSR (res_scale < 1) keeps PyTorch's default
            scaled_kaiming_init(self, 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.relu(self.conv1(x))) * self.res_scale


class PixelShufflePack(nn.Module):
    """conv to out_channels · s² channels, then pixel shuffle by s (sub-pixel upsampling)."""

    def __init__(self, in_channels: int, out_channels: int, scale_factor: int, upsample_kernel: int) -> None:
        super().__init__()
        self.scale_factor = scale_factor
        self.upsample_conv = nn.Conv2d(in_channels, out_channels * scale_factor ** 2, upsample_kernel,
                                       padding=(upsample_kernel - 1) // 2)
        scaled_kaiming_init(self, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(self.upsample_conv(x), self.scale_factor)


def pixel_unshuffle(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Space to depth: N×C×H×W -> N×(C·s²)×(H/s)×(W/s) (RRDBNet at ×1/×2)."""
    if x.shape[-2] % scale or x.shape[-1] % scale:
        raise ValueError(f"pixel_unshuffle: H and W ({x.shape[-2]}×{x.shape[-1]}) must be multiples of {scale}")
    return F.pixel_unshuffle(x, scale)


def check_scale(name: str, scale: int, supported: tuple[int, ...] | None = None) -> int:
    """``scale`` if it is a supported int, else a ConfigError naming the network and the choices."""
    ok = isinstance(scale, int) and not isinstance(scale, bool) and scale >= 1
    if ok and supported is not None:
        ok = scale in supported
    if not ok:
        choices = ", ".join(map(str, supported)) if supported else "a positive int"
        raise ConfigError(f"{name}: upscale_factor must be {choices}, got {scale!r}")
    return scale


def power_of_two_or_three(name: str, scale: int) -> list[int]:
    """The pixel-shuffle steps for ×2ⁿ (n steps of 2) or ×3 (one step), as EDSR upsamples."""
    check_scale(name, scale)
    if scale == 3:
        return [3]
    if scale & (scale - 1) == 0 and scale > 1:
        return [2] * int(math.log2(scale))
    raise ConfigError(f"{name}: upscale_factor must be 3 or a power of two ≥ 2, got {scale!r}")


class ResidualBlocksWithInputConv(nn.Module):
    """conv(in -> out) + LeakyReLU(0.1), then ``num_blocks`` residual blocks (the video families' trunks;
    keys ``main.0`` conv, ``main.2.{i}`` blocks, as MMagic's)."""

    def __init__(self, in_channels: int, out_channels: int = 64, num_blocks: int = 30) -> None:
        super().__init__()
        self.main = nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, 1, 1),
                                  nn.LeakyReLU(negative_slope=0.1, inplace=True),
                                  stack(lambda: ResidualBlockNoBN(out_channels), num_blocks))

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        return self.main(feat)


class ConvModule(nn.Module):
    """A conv (key ``conv``) and an optional activation, as mmcv's ConvModule without normalisation
    (MMagic's SPyNet and EDVR keep its key layout: ``<name>.conv.weight``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 activation: nn.Module | None = None) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding)
        self.activate = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return out if self.activate is None else self.activate(out)


def leaky_conv(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
               padding: int = 0) -> ConvModule:
    """ConvModule with LeakyReLU(0.1): the EDVR family's act_cfg."""
    return ConvModule(in_channels, out_channels, kernel_size, stride, padding,
                      nn.LeakyReLU(negative_slope=0.1, inplace=True))
