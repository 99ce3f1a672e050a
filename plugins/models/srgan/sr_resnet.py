"""``MSRResNet``, SRGAN's generator (the modified SRResNet of BasicSR), under MMagic's name and
arguments (its state dicts load)."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..ops.sr_layers import PixelShufflePack, ResidualBlockNoBN, check_scale, scaled_kaiming_init, stack


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
