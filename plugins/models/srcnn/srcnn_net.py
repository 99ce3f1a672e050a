"""``SRCNNNet`` (Dong et al. 2014) under MMagic's name and arguments (its state dicts load)."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError

from ..ops.sr_layers import check_scale


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
