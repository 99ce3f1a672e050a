"""Super-resolution generators under MMagic's names and arguments: SRCNNNet, EDSRNet, MSRResNet, RRDBNet.

Each maps an N×C×h×w input (in the data preprocessor's range) to N×C×(s·h)×(s·w).
Definitions follow MMagic 1.2.0 (layer names included, so its state dicts load).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError

from .layers import (PixelShufflePack, ResidualBlockNoBN, check_scale, pixel_unshuffle, power_of_two_or_three,
                     scaled_kaiming_init, stack)


class SRCNNNet(nn.Module):
    """Bicubic upsampling by ``upscale_factor``, then conv(k0)-ReLU-conv(k1)-ReLU-conv(k2), 'same' padding.

    ``channels`` = (in, hidden1, hidden2, out). ``upscale_factor=1`` restores
    an input already at the target size.
    """

    def __init__(self, channels: Sequence[int] = (3, 64, 32, 3), kernel_sizes: Sequence[int] = (9, 1, 5),
                 upscale_factor: int = 4) -> None:
        super().__init__()
        channels, kernel_sizes = tuple(channels), tuple(kernel_sizes)
        if len(channels) != 4:
            raise ConfigError(f"SRCNNNet: channels must have 4 entries (in, hidden, hidden, out), got {channels}")
        if len(kernel_sizes) != 3 or any(not isinstance(k, int) or k < 1 or k % 2 == 0 for k in kernel_sizes):
            raise ConfigError(f"SRCNNNet: kernel_sizes must be 3 odd positive ints, got {kernel_sizes}")
        self.upscale_factor = check_scale("SRCNNNet", upscale_factor)
        self.conv1 = nn.Conv2d(channels[0], channels[1], kernel_sizes[0], padding=kernel_sizes[0] // 2)
        self.conv2 = nn.Conv2d(channels[1], channels[2], kernel_sizes[1], padding=kernel_sizes[1] // 2)
        self.conv3 = nn.Conv2d(channels[2], channels[3], kernel_sizes[2], padding=kernel_sizes[2] // 2)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.upscale_factor != 1:
            x = F.interpolate(x, scale_factor=self.upscale_factor, mode="bicubic", align_corners=False)
        return self.conv3(self.relu(self.conv2(self.relu(self.conv1(x)))))


class EDSRNet(nn.Module):
    """EDSR (Lim et al. 2017): residual blocks without BN, global skip, pixel-shuffle upsampling.

    The input is shifted by ``rgb_mean`` and divided by ``rgb_std`` inside the
    network (and back at the end), as EDSR does on [0, 1] images.
    """

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int = 64, num_blocks: int = 16,
                 upscale_factor: int = 4, res_scale: float = 1, rgb_mean: Sequence[float] = (0.4488, 0.4371, 0.4040),
                 rgb_std: Sequence[float] = (1.0, 1.0, 1.0)) -> None:
        super().__init__()
        steps = power_of_two_or_three("EDSRNet", upscale_factor)
        self.upscale_factor = upscale_factor
        self.register_buffer("mean", torch.tensor(list(rgb_mean), dtype=torch.float32).view(1, -1, 1, 1),
                             persistent=False)
        self.register_buffer("std", torch.tensor(list(rgb_std), dtype=torch.float32).view(1, -1, 1, 1),
                             persistent=False)
        self.conv_first = nn.Conv2d(in_channels, mid_channels, 3, padding=1)
        self.body = stack(lambda: ResidualBlockNoBN(mid_channels, res_scale), num_blocks)
        self.conv_after_body = nn.Conv2d(mid_channels, mid_channels, 3, 1, 1)
        self.upsample = nn.Sequential(*(PixelShufflePack(mid_channels, mid_channels, step, upsample_kernel=3)
                                        for step in steps))
        self.conv_last = nn.Conv2d(mid_channels, out_channels, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean, std = self.mean.to(x.dtype), self.std.to(x.dtype)
        feat = self.conv_first((x - mean) / std)
        feat = feat + self.conv_after_body(self.body(feat))
        return self.conv_last(self.upsample(feat)) * std + mean


class MSRResNet(nn.Module):
    """Modified SRResNet (BasicSR): residual blocks without BN, pixel shuffle, plus a bilinear skip of the input.

    Supports ×2, ×3 and ×4.
    """

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int = 64, num_blocks: int = 16,
                 upscale_factor: int = 4) -> None:
        super().__init__()
        self.upscale_factor = check_scale("MSRResNet", upscale_factor, (2, 3, 4))
        self.conv_first = nn.Conv2d(in_channels, mid_channels, 3, 1, 1)
        self.trunk_net = stack(lambda: ResidualBlockNoBN(mid_channels), num_blocks)
        first = 2 if upscale_factor == 4 else upscale_factor
        self.upsample1 = PixelShufflePack(mid_channels, mid_channels, first, upsample_kernel=3)
        if upscale_factor == 4:
            self.upsample2 = PixelShufflePack(mid_channels, mid_channels, 2, upsample_kernel=3)
        self.conv_hr = nn.Conv2d(mid_channels, mid_channels, 3, 1, 1)
        self.conv_last = nn.Conv2d(mid_channels, out_channels, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)
        for layer in (self.conv_first, self.conv_hr, self.conv_last):
            scaled_kaiming_init(layer, 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.trunk_net(self.lrelu(self.conv_first(x)))
        out = self.upsample1(out)
        if self.upscale_factor == 4:
            out = self.upsample2(out)
        out = self.conv_last(self.lrelu(self.conv_hr(out)))
        skip = F.interpolate(x, scale_factor=self.upscale_factor, mode="bilinear", align_corners=False)
        return out + skip


class ResidualDenseBlock(nn.Module):
    """Five densely connected 3×3 convs (LeakyReLU 0.2); the output is x + 0.2 · conv5(...)."""

    def __init__(self, mid_channels: int = 64, growth_channels: int = 32) -> None:
        super().__init__()
        for index in range(5):
            out_channels = mid_channels if index == 4 else growth_channels
            self.add_module(f"conv{index + 1}",
                            nn.Conv2d(mid_channels + index * growth_channels, out_channels, 3, 1, 1))
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)
        for index in range(5):
            scaled_kaiming_init(getattr(self, f"conv{index + 1}"), 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for index in range(1, 5):
            features.append(self.lrelu(getattr(self, f"conv{index}")(torch.cat(features, 1))))
        return x + self.conv5(torch.cat(features, 1)) * 0.2


class RRDB(nn.Module):
    """Residual in residual dense block: three RDBs, x + 0.2 · rdb3(rdb2(rdb1(x)))."""

    def __init__(self, mid_channels: int, growth_channels: int = 32) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(mid_channels, growth_channels)
        self.rdb2 = ResidualDenseBlock(mid_channels, growth_channels)
        self.rdb3 = ResidualDenseBlock(mid_channels, growth_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.rdb3(self.rdb2(self.rdb1(x))) * 0.2


class RRDBNet(nn.Module):
    """ESRGAN's generator: RRDB trunk, two nearest-neighbour ×2 upsampling convs.

    ×4 natively; ×2 and ×1 first pixel-unshuffle the input by 4/scale (so H and W
    must be multiples of it), as Real-ESRGAN does. (MMagic's ``init_cfg`` of a
    generator is read by the model that owns it: see ``pretrained.py``.)
    """

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int = 64, num_blocks: int = 23,
                 growth_channels: int = 32, upscale_factor: int = 4) -> None:
        super().__init__()
        self.upscale_factor = check_scale("RRDBNet", upscale_factor, (1, 2, 4))
        self.unshuffle = 4 // upscale_factor
        self.conv_first = nn.Conv2d(in_channels * self.unshuffle ** 2, mid_channels, 3, 1, 1)
        self.body = stack(lambda: RRDB(mid_channels, growth_channels), num_blocks)
        self.conv_body = nn.Conv2d(mid_channels, mid_channels, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(mid_channels, mid_channels, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(mid_channels, mid_channels, 3, 1, 1)
        self.conv_hr = nn.Conv2d(mid_channels, mid_channels, 3, 1, 1)
        self.conv_last = nn.Conv2d(mid_channels, out_channels, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)
        for layer in (self.conv_first, self.conv_body, self.conv_up1, self.conv_up2, self.conv_hr, self.conv_last):
            scaled_kaiming_init(layer, 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = pixel_unshuffle(x, self.unshuffle) if self.unshuffle > 1 else x
        feat = self.conv_first(feat)
        feat = feat + self.conv_body(self.body(feat))
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(self.lrelu(self.conv_hr(feat)))


GENERATORS = (SRCNNNet, EDSRNet, MSRResNet, RRDBNet)
