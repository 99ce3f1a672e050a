"""``EDSRNet`` (Lim et al. 2017) under MMagic's name and arguments (its state dicts load)."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..ops.sr_layers import PixelShufflePack, ResidualBlockNoBN, power_of_two_or_three, stack


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
