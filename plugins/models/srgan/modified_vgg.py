"""``ModifiedVGG``: the VGG-style discriminator of SRGAN/ESRGAN (MMagic's layer names)."""
from __future__ import annotations

import torch
from torch import nn

from mgx.core.errors import ConfigError


class ModifiedVGG(nn.Module):
    """Five stages of (3×3 conv, 4×4 stride-2 conv), BatchNorm from the second conv, LeakyReLU 0.2,
    then linear(·, 100) - LeakyReLU - linear(100, 1): one logit per image.

    MMagic fixes the input at 128×128 (4×4 after five halvings). ``input_size``
    (an mgx addition, default 128 as in MMagic) allows other multiples of 32,
    e.g. 32 for the digits; the first linear layer then sees (input_size/32)²
    positions per channel. Inputs of another size are an error that names it.
    """

    def __init__(self, in_channels: int, mid_channels: int, input_size: int = 128) -> None:
        super().__init__()
        if isinstance(input_size, bool) or not isinstance(input_size, int) or input_size < 32 or input_size % 32:
            raise ConfigError(f"ModifiedVGG: input_size must be a multiple of 32 (≥ 32), got {input_size!r}")
        self.input_size = input_size
        widths = [mid_channels, mid_channels * 2, mid_channels * 4, mid_channels * 8, mid_channels * 8]
        self.conv0_0 = nn.Conv2d(in_channels, mid_channels, 3, 1, 1, bias=True)
        previous = mid_channels
        for stage, width in enumerate(widths):
            if stage > 0:
                self.add_module(f"conv{stage}_0", nn.Conv2d(previous, width, 3, 1, 1, bias=False))
                self.add_module(f"bn{stage}_0", nn.BatchNorm2d(width, affine=True))
            self.add_module(f"conv{stage}_1", nn.Conv2d(width, width, 4, 2, 1, bias=False))
            self.add_module(f"bn{stage}_1", nn.BatchNorm2d(width, affine=True))
            previous = width
        side = input_size // 32
        self.linear1 = nn.Linear(widths[-1] * side * side, 100)
        self.linear2 = nn.Linear(100, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (self.input_size, self.input_size):
            raise ValueError(f"ModifiedVGG(input_size={self.input_size}) needs {self.input_size}×{self.input_size} "
                             f"inputs, got {x.shape[-2]}×{x.shape[-1]}: crop the ground truth to that size "
                             f"(e.g. PairedRandomCrop gt_patch_size) or set input_size")
        feat = self.lrelu(self.conv0_0(x))
        feat = self.lrelu(self.bn0_1(self.conv0_1(feat)))
        for stage in range(1, 5):
            feat = self.lrelu(getattr(self, f"bn{stage}_0")(getattr(self, f"conv{stage}_0")(feat)))
            feat = self.lrelu(getattr(self, f"bn{stage}_1")(getattr(self, f"conv{stage}_1")(feat)))
        return self.linear2(self.lrelu(self.linear1(feat.flatten(1))))
