"""mmcv's (unmodulated) deformable convolutions under their parameter names, through
``torchvision.ops.deform_conv2d`` (no compiled extension): ``DeformConv2d`` (no bias, as mmcv's),
``DeformConv2dPack`` (offsets predicted from the input itself by ``conv_offset``) and
``AugmentedDeformConv2dPack`` (offsets predicted from another feature; TDAN's alignment).

Offsets are N×(2·G·k²)×H×W, a (dy, dx) pair per deformable group and kernel tap: mmcv's layout and
torchvision's alike. The offset convolutions start at zero, so a fresh pack is a plain convolution.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from mgx.core.errors import ConfigError


def deform_conv2d(*args, **kwargs) -> torch.Tensor:
    """``torchvision.ops.deform_conv2d``, imported on the first call: importing torchvision pulls in
    torch._dynamo (~1.5 s of CPU), which every process that loads the models plugin would pay otherwise."""
    from torchvision.ops import deform_conv2d as torchvision_deform_conv2d

    return torchvision_deform_conv2d(*args, **kwargs)


class DeformConv2d(nn.Module):
    """A deformable convolution of ``x`` at given offsets (``weight`` out×in×k×k, no bias, as mmcv's)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 padding: int = 0, dilation: int = 1, groups: int = 1, deform_groups: int = 1,
                 bias: bool = False) -> None:
        super().__init__()
        if bias:  # mmcv asserts the same
            raise ConfigError("DeformConv2d: bias is not supported (mmcv's DeformConv2d has none)")
        if groups != 1:  # torchvision's deform_conv2d has no convolution groups; MMagic's networks use 1
            raise ConfigError(f"DeformConv2d: groups must be 1, got {groups!r}")
        if in_channels % deform_groups:
            raise ConfigError(f"DeformConv2d: in_channels {in_channels} must be divisible by deform_groups "
                              f"{deform_groups}")
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.groups, self.deform_groups = groups, deform_groups
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        bound = 1.0 / math.sqrt(in_channels * kernel_size ** 2)  # mmcv's reset_parameters
        nn.init.uniform_(self.weight, -bound, bound)

    def offset_conv(self) -> nn.Conv2d:
        """The zero-initialised convolution that predicts this layer's offsets (the packs' ``conv_offset``)."""
        conv = nn.Conv2d(self.in_channels, self.deform_groups * 2 * self.kernel_size ** 2, self.kernel_size,
                         self.stride, self.padding, self.dilation, bias=True)
        nn.init.zeros_(conv.weight)
        nn.init.zeros_(conv.bias)
        return conv

    def deform(self, x: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
        return deform_conv2d(x, offset, self.weight, None, stride=self.stride, padding=self.padding,
                             dilation=self.dilation)

    def forward(self, x: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
        return self.deform(x, offset)


class DeformConv2dPack(DeformConv2d):
    """DeformConv2d whose offsets ``conv_offset(x)`` come from its own input."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.conv_offset = self.offset_conv()

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self.deform(x, self.conv_offset(x))


class AugmentedDeformConv2dPack(DeformConv2d):
    """DeformConv2d whose offsets ``conv_offset(extra_feat)`` come from another feature (MMagic's TDAN)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.conv_offset = self.offset_conv()

    def forward(self, x: torch.Tensor, extra_feat: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self.deform(x, self.conv_offset(extra_feat))
