"""``SecondOrderDeformableAlignment``: BasicVSR++'s flow-guided deformable alignment, a modulated
deformable convolution (DCNv2) through ``torchvision.ops.deform_conv2d`` (no compiled extension), with
mmcv's ``ModulatedDeformConv2d`` parameter names (``weight``, ``bias``) so MMagic's weights load."""
from __future__ import annotations

import math

import torch
from torch import nn

from mgx.core.errors import ConfigError

from ..ops.deform_conv import deform_conv2d


class SecondOrderDeformableAlignment(nn.Module):
    """Align ``x`` (two features: warped t-1 and t-2 candidates, 2C channels) with offsets that are the
    optical flows plus residues ``max_residue_magnitude · tanh(·)`` predicted from ``extra_feat`` and both
    flows, and a sigmoid modulation mask. The first half of the deformable groups follow ``flow_1``,
    the second half ``flow_2``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 padding: int = 1, dilation: int = 1, groups: int = 1, deform_groups: int = 1, bias: bool = True,
                 max_residue_magnitude: float = 10) -> None:
        super().__init__()
        if groups != 1:  # torchvision's deform_conv2d has no convolution groups; MMagic uses 1
            raise ConfigError(f"SecondOrderDeformableAlignment: groups must be 1, got {groups!r}")
        if in_channels % groups or in_channels % deform_groups:
            raise ValueError(f"SecondOrderDeformableAlignment: in_channels {in_channels} must be divisible by "
                             f"groups {groups} and deform_groups {deform_groups}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = (kernel_size, kernel_size)
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.groups, self.deform_groups = groups, deform_groups
        self.max_residue_magnitude = max_residue_magnitude
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels // groups, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.conv_offset = nn.Sequential(
            nn.Conv2d(3 * out_channels + 4, out_channels, 3, 1, 1), nn.LeakyReLU(negative_slope=0.1, inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, 1, 1), nn.LeakyReLU(negative_slope=0.1, inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, 1, 1), nn.LeakyReLU(negative_slope=0.1, inplace=True),
            nn.Conv2d(out_channels, 27 * deform_groups, 3, 1, 1))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """mmcv's init: weight uniform(±1/√(in·k²)), zero bias; the offset head starts at zero (pure flow)."""
        bound = 1.0 / math.sqrt(self.in_channels * self.kernel_size[0] * self.kernel_size[1])
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.zeros_(self.bias)
        nn.init.zeros_(self.conv_offset[-1].weight)
        nn.init.zeros_(self.conv_offset[-1].bias)

    def offsets_and_mask(self, extra_feat: torch.Tensor, flow_1: torch.Tensor,
                         flow_2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Offsets N×(2·G·k²)×H×W as (dy, dx) pairs per group and kernel tap, and the mask N×(G·k²)×H×W."""
        out = self.conv_offset(torch.cat([extra_feat, flow_1, flow_2], dim=1))
        o1, o2, mask = torch.chunk(out, 3, dim=1)
        offset = self.max_residue_magnitude * torch.tanh(torch.cat((o1, o2), dim=1))
        offset_1, offset_2 = torch.chunk(offset, 2, dim=1)
        # flows are (dx, dy); the offset layout is (dy, dx) per tap, hence flip(1)
        offset_1 = offset_1 + flow_1.flip(1).repeat(1, offset_1.size(1) // 2, 1, 1)
        offset_2 = offset_2 + flow_2.flip(1).repeat(1, offset_2.size(1) // 2, 1, 1)
        return torch.cat([offset_1, offset_2], dim=1), torch.sigmoid(mask)

    def forward(self, x: torch.Tensor, extra_feat: torch.Tensor, flow_1: torch.Tensor,
                flow_2: torch.Tensor) -> torch.Tensor:
        offset, mask = self.offsets_and_mask(extra_feat, flow_1, flow_2)
        return deform_conv2d(x, offset, self.weight, self.bias, stride=self.stride, padding=self.padding,
                             dilation=self.dilation, mask=mask)
