"""StyleGAN2 layers with equalized learning rate.

Every weight is stored as drawn from N(0, 1) (divided by ``lr_mul``) and scaled at
run time by ``gain · lr_mul / √fan_in`` — the equalized learning rate of Karras et
al., which makes Adam's step size the same for all layers. Submodule and parameter
names follow MMagic 1.2.0's modules so that its checkpoints map by a short rule
(see ``checkpoint.py``).
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from ..ops.style_ops import fused_bias_leaky_relu, make_kernel, modulated_conv2d, upfirdn2d


class PixelNorm(nn.Module):
    """Normalise each vector to unit root-mean-square (the mapping network's input)."""

    def __init__(self, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rms = x.norm(dim=1, keepdim=True) / math.sqrt(x.shape[1])
        return x / (rms + self.eps)


class EqualLinear(nn.Module):
    """Linear layer with equalized learning rate; ``activate=True`` adds fused bias + leaky ReLU."""

    def __init__(self, in_features: int, out_features: int, *, lr_mul: float = 1.0, bias_init: float = 0.0,
                 activate: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init)))
        self.scale = lr_mul / math.sqrt(in_features)
        self.lr_mul = lr_mul
        self.activate = activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(x.shape[0], -1)
        if self.activate:
            return fused_bias_leaky_relu(F.linear(x, self.weight * self.scale), self.bias * self.lr_mul)
        return F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)


class FusedBiasLeakyReLU(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fused_bias_leaky_relu(x, self.bias)


class NoiseInjection(nn.Module):
    """Adds ``weight · noise`` (one noise channel broadcast over feature channels)."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        if noise is None:
            noise = x.new_empty(x.shape[0], 1, x.shape[2], x.shape[3]).normal_()
        return x + self.weight.to(x.dtype) * noise.to(x.dtype)


class ConstantInput(nn.Module):
    """The learned 4×4 input; an optional 3×3 ``transform`` resamples it (StyleGAN3-style input
    transform: maps output coordinates, the map spanning [-0.5, 0.5]², to input coordinates)."""

    def __init__(self, channels: int, size: int = 4) -> None:
        super().__init__()
        self.input = nn.Parameter(torch.randn(1, channels, size, size))

    def forward(self, batch: int, transform: torch.Tensor | None = None) -> torch.Tensor:
        constant = self.input
        if transform is not None:
            matrix = torch.as_tensor(transform, dtype=constant.dtype, device=constant.device).reshape(3, 3)
            # affine_grid works in [-1, 1] coordinates: same linear part, translation ×2
            theta = torch.cat([matrix[:2, :2], 2 * matrix[:2, 2:]], dim=1)[None]
            grid = F.affine_grid(theta, list(constant.shape), align_corners=False)
            constant = F.grid_sample(constant, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        return constant.expand(batch, -1, -1, -1)


class ModulatedConv2d(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, style_channels: int, *,
                 demodulate: bool = True, upsample: bool = False, downsample: bool = False,
                 blur_kernel: Sequence[int] = (1, 3, 3, 1), eps: float = 1e-8) -> None:
        super().__init__()
        # 5-D like MMagic's parameter, so checkpoints load without reshaping
        self.weight = nn.Parameter(torch.randn(1, out_channels, in_channels, kernel_size, kernel_size))
        self.style_modulation = EqualLinear(style_channels, in_channels, bias_init=1.0)
        self.scale = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)
        self.demodulate, self.upsample, self.downsample, self.eps = demodulate, upsample, downsample, eps
        if upsample or downsample:
            self.register_buffer("blur_kernel", make_kernel(blur_kernel, 4.0 if upsample else 1.0),
                                 persistent=False)
        else:
            self.blur_kernel = None

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        styles = self.style_modulation(style)
        return modulated_conv2d(x, self.weight[0] * self.scale, styles, demodulate=self.demodulate,
                                up=self.upsample, down=self.downsample, blur_kernel=self.blur_kernel, eps=self.eps)


class ModulatedStyleConv(nn.Module):
    """Modulated conv, noise injection, fused bias + leaky ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, style_channels: int, *,
                 upsample: bool = False, blur_kernel: Sequence[int] = (1, 3, 3, 1)) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, kernel_size, style_channels,
                                    upsample=upsample, blur_kernel=blur_kernel)
        self.noise_injector = NoiseInjection()
        self.activate = FusedBiasLeakyReLU(out_channels)

    def forward(self, x: torch.Tensor, style: torch.Tensor, noise: torch.Tensor | None = None,
                add_noise: bool = True) -> torch.Tensor:
        out = self.conv(x, style)
        if add_noise:
            out = self.noise_injector(out, noise)
        return self.activate(out)


class ModulatedToRGB(nn.Module):
    """1×1 modulated conv (no demodulation) to image channels, added to the up-sampled skip image."""

    def __init__(self, in_channels: int, style_channels: int, out_channels: int = 3, *, upsample: bool = True,
                 blur_kernel: Sequence[int] = (1, 3, 3, 1)) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, 1, style_channels, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, out_channels, 1, 1))
        self.upsample = upsample
        if upsample:
            self.register_buffer("up_kernel", make_kernel(blur_kernel, 4.0), persistent=False)

    def forward(self, x: torch.Tensor, style: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        out = self.conv(x, style) + self.bias.to(x.dtype)
        if skip is not None:
            if self.upsample:
                taps = self.up_kernel.shape[0]
                skip = upfirdn2d(skip, self.up_kernel, up=2, pad=((taps - 2 + 1) // 2 + 1, (taps - 2) // 2))
            out = out + skip.to(out.dtype)
        return out


class ConvLayer(nn.Module):
    """Equalized-LR conv; ``downsample`` blurs then strides by 2; ``activate`` adds fused bias + lrelu."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *, downsample: bool = False,
                 activate: bool = True, blur_kernel: Sequence[int] = (1, 3, 3, 1)) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if activate else None
        self.scale = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)
        self.downsample = downsample
        if downsample:
            self.register_buffer("blur_kernel", make_kernel(blur_kernel), persistent=False)
            pad = len(blur_kernel) - 2 + (kernel_size - 1)
            self.blur_pad = ((pad + 1) // 2, pad // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = (self.weight * self.scale).to(x.dtype)
        if self.downsample:
            x = F.conv2d(upfirdn2d(x, self.blur_kernel, pad=self.blur_pad), weight, stride=2)
        else:
            x = F.conv2d(x, weight, padding=self.weight.shape[-1] // 2)
        return fused_bias_leaky_relu(x, self.bias) if self.bias is not None else x


class ResBlock(nn.Module):
    """Discriminator block: two 3×3 convs (the second down-sampling) plus a 1×1 down-sampled skip, /√2."""

    def __init__(self, in_channels: int, out_channels: int, blur_kernel: Sequence[int] = (1, 3, 3, 1)) -> None:
        super().__init__()
        self.conv1 = ConvLayer(in_channels, in_channels, 3, blur_kernel=blur_kernel)
        self.conv2 = ConvLayer(in_channels, out_channels, 3, downsample=True, blur_kernel=blur_kernel)
        self.skip = ConvLayer(in_channels, out_channels, 1, downsample=True, activate=False, blur_kernel=blur_kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.conv2(self.conv1(x)) + self.skip(x)) / math.sqrt(2.0)


class MiniBatchStddev(nn.Module):
    """Appends the mean (over channels of a group and pixels) of per-group standard deviations.

    Sample i belongs to group ``i mod (N / group_size)`` (strided groups, as in StyleGAN2).
    """

    def __init__(self, group_size: int = 4, channel_groups: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.group_size, self.channel_groups, self.eps = group_size, channel_groups, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        group = min(n, self.group_size)
        if n % group:
            raise ValueError(f"minibatch stddev: batch size {n} must be ≤ group_size {self.group_size} "
                             f"or divisible by it (mbstd_cfg.group_size)")
        y = x.reshape(group, -1, self.channel_groups, c // self.channel_groups, h, w)
        y = torch.sqrt(y.var(dim=0, unbiased=False) + self.eps)
        y = y.mean(dim=(2, 3, 4)).reshape(-1, self.channel_groups, 1, 1)
        y = y.repeat(group, 1, h, w)
        return torch.cat([x, y.to(x.dtype)], dim=1)
