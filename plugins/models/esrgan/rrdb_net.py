"""``RRDBNet``, ESRGAN's generator (residual-in-residual dense blocks), under MMagic's name and
arguments (its state dicts load)."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..ops.sr_layers import check_scale, pixel_unshuffle, scaled_kaiming_init, stack


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
    generator is read by the model that owns it: see ``base_models/pretrained.py``.)
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
