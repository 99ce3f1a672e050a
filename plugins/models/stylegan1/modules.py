"""StyleGAN v1's layers as MMagic 1.2.0's ``stylegan1_modules`` names them (so state-dict keys match):
``EqualLinearActModule`` (``linear.weight_orig`` + ``bias``, both scaled by ``lr_mul``), ``Blur`` (its
normalised FIR ``kernel`` is a saved buffer), ``NoiseInjection`` (``weight``), ``ConstantInput``
(``input``), ``AdaptiveInstanceNorm`` (instance norm, then ``γ·x + β`` from an equalized ``affine``
linear whose bias starts at γ = 1, β = 0) and ``StyleConv`` (conv1 -> noise -> LeakyReLU -> AdaIN ->
conv2 -> noise -> LeakyReLU -> AdaIN).
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from ..ops.equalized_lr import EqualizedConvModule, EqualizedLinear
from ..ops.style_ops import make_kernel, upfirdn2d
from ..stylegan2.modules import NoiseInjection  # the same layer (key ``weight``)

_LEAKY = dict(type="LeakyReLU", negative_slope=0.2)


class EqualLinearActModule(nn.Module):
    def __init__(self, in_features: int, out_features: int, gain: float = 1.0, lr_mul: float = 1.0,
                 bias_init: float = 0.0, activate: bool = False) -> None:
        super().__init__()
        self.linear = EqualizedLinear(in_features, out_features, bias=False, gain=gain, lr_mul=lr_mul)
        self.lr_mul = lr_mul
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init)))
        self.activate = nn.LeakyReLU(0.2) if activate else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.linear(x.reshape(x.shape[0], -1)) + self.bias * self.lr_mul
        return self.activate(x) if self.activate is not None else x


class Blur(nn.Module):
    """``upfirdn2d`` with the normalised outer product of ``taps``, padded by ``pad`` (same size for a
    3-tap kernel and pad (1, 1))."""

    def __init__(self, taps: Sequence[float], pad: tuple = (1, 1)) -> None:
        super().__init__()
        self.register_buffer("kernel", make_kernel(taps))
        self.pad = tuple(pad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel.to(x.dtype), pad=self.pad)


class ConstantInput(nn.Module):
    def __init__(self, channels: int, size: int = 4) -> None:
        super().__init__()
        self.input = nn.Parameter(torch.randn(1, channels, size, size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.input.repeat(x.shape[0], 1, 1, 1)


class AdaptiveInstanceNorm(nn.Module):
    def __init__(self, channels: int, style_channels: int) -> None:
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels)
        self.affine = EqualizedLinear(style_channels, channels * 2, gain=math.sqrt(2))
        with torch.no_grad():
            self.affine.bias[:channels] = 1.0

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.affine(style)[:, :, None, None].chunk(2, dim=1)
        return gamma * self.norm(x) + beta


class StyleConv(nn.Module):
    """The constant input (``initial``), or nearest ×2 up-sampling + 3×3 conv + LeakyReLU + blur
    (MMagic's fused=True form), as conv1; a 3×3 conv as conv2; each followed by noise, LeakyReLU, AdaIN."""

    def __init__(self, in_channels: int, out_channels: int, style_channels: int, initial: bool = False,
                 blur_kernel: Sequence[float] = (1, 2, 1)) -> None:
        super().__init__()
        if initial:
            self.conv1 = ConstantInput(in_channels)
        else:
            self.conv1 = nn.Sequential(
                EqualizedConvModule(in_channels, out_channels, 3, padding=1, act_cfg=_LEAKY, upsample=True),
                Blur(blur_kernel, pad=(1, 1)))
        self.noise_injector1 = NoiseInjection()
        self.activate1 = nn.LeakyReLU(0.2)
        self.adain1 = AdaptiveInstanceNorm(out_channels, style_channels)
        self.conv2 = EqualizedConvModule(out_channels, out_channels, 3, padding=1)
        self.noise_injector2 = NoiseInjection()
        self.activate2 = nn.LeakyReLU(0.2)
        self.adain2 = AdaptiveInstanceNorm(out_channels, style_channels)

    def forward(self, x: torch.Tensor, style1: torch.Tensor, style2: torch.Tensor,
                noise1: torch.Tensor | None = None, noise2: torch.Tensor | None = None) -> torch.Tensor:
        out = self.adain1(self.activate1(self.noise_injector1(self.conv1(x), noise1)), style1)
        return self.adain2(self.activate2(self.noise_injector2(self.conv2(out), noise2)), style2)


__all__ = ["AdaptiveInstanceNorm", "Blur", "ConstantInput", "EqualLinearActModule", "StyleConv"]
