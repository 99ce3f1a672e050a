"""``BasicVSRNet`` (Chan et al. 2021) under MMagic's name, arguments and state-dict keys."""
from __future__ import annotations

import torch
from torch import nn

from ..ops.flow import SPyNet, flow_warp
from ..ops.sr_layers import PixelShufflePack, ResidualBlocksWithInputConv


def is_mirror_extended(lrs: torch.Tensor) -> bool:
    """Whether N×T×C×H×W ``lrs`` is a sequence followed by its reverse (then one flow direction suffices)."""
    if lrs.size(1) % 2:
        return False
    first, second = torch.chunk(lrs, 2, dim=1)
    return bool(torch.equal(first, second.flip(1)))


def bidirectional_flows(spynet: nn.Module, lrs: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor]:
    """(forward flows: frame i+1 -> i, or None for a mirror-extended input; backward flows: i -> i+1),
    each N×(T-1)×2×H×W."""
    n, t, c, h, w = lrs.shape
    earlier, later = lrs[:, :-1].reshape(-1, c, h, w), lrs[:, 1:].reshape(-1, c, h, w)
    backward = spynet(earlier, later).view(n, t - 1, 2, h, w)
    forward = None if is_mirror_extended(lrs) else spynet(later, earlier).view(n, t - 1, 2, h, w)
    return forward, backward


class UpsampleHead(nn.Module):
    """The ×4 reconstruction head the BasicVSR family shares: two pixel-shuffle ×2 steps, conv_hr, conv_last."""

    def __init__(self, mid_channels: int) -> None:
        super().__init__()
        self.upsample1 = PixelShufflePack(mid_channels, mid_channels, 2, upsample_kernel=3)
        self.upsample2 = PixelShufflePack(mid_channels, 64, 2, upsample_kernel=3)
        self.conv_hr = nn.Conv2d(64, 64, 3, 1, 1)
        self.conv_last = nn.Conv2d(64, 3, 3, 1, 1)
        self.img_upsample = nn.Upsample(scale_factor=4, mode="bilinear", align_corners=False)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)

    def reconstruct(self, feat: torch.Tensor) -> torch.Tensor:
        feat = self.lrelu(self.upsample1(feat))
        feat = self.lrelu(self.upsample2(feat))
        return self.conv_last(self.lrelu(self.conv_hr(feat)))


class BasicVSRNet(UpsampleHead):
    """Bidirectional recurrent propagation with SPyNet flow-warped features; ×4 output.

    ``forward(lrs)``: N×T×3×H×W in [0, 1] -> N×T×3×4H×4W. ``spynet_pretrained``: MMagic's SPyNet file
    (path or URL). (MMagic warns below 64×64 input; so does not mgx, whose tests use tiny frames.)
    """

    def __init__(self, mid_channels: int = 64, num_blocks: int = 30, spynet_pretrained: str | None = None) -> None:
        super().__init__(mid_channels)
        self.mid_channels = mid_channels
        self.spynet = SPyNet(pretrained=spynet_pretrained)
        self.backward_resblocks = ResidualBlocksWithInputConv(mid_channels + 3, mid_channels, num_blocks)
        self.forward_resblocks = ResidualBlocksWithInputConv(mid_channels + 3, mid_channels, num_blocks)
        self.fusion = nn.Conv2d(mid_channels * 2, mid_channels, 1, 1, 0, bias=True)

    def backward_features(self, lrs: torch.Tensor, flows_backward: torch.Tensor) -> list[torch.Tensor]:
        n, t, _, h, w = lrs.shape
        feat_prop = lrs.new_zeros(n, self.mid_channels, h, w)
        features = []
        for i in range(t - 1, -1, -1):
            if i < t - 1:
                feat_prop = flow_warp(feat_prop, flows_backward[:, i].permute(0, 2, 3, 1))
            feat_prop = self.backward_resblocks(torch.cat([lrs[:, i], feat_prop], dim=1))
            features.append(feat_prop)
        return features[::-1]

    def forward(self, lrs: torch.Tensor) -> torch.Tensor:
        n, t, _, h, w = lrs.shape
        flows_forward, flows_backward = bidirectional_flows(self.spynet, lrs)
        backward = self.backward_features(lrs, flows_backward)
        feat_prop = lrs.new_zeros(n, self.mid_channels, h, w)
        outputs = []
        for i in range(t):
            lr_curr = lrs[:, i]
            if i > 0:
                flow = flows_forward[:, i - 1] if flows_forward is not None else flows_backward[:, -i]
                feat_prop = flow_warp(feat_prop, flow.permute(0, 2, 3, 1))
            feat_prop = self.forward_resblocks(torch.cat([lr_curr, feat_prop], dim=1))
            out = self.lrelu(self.fusion(torch.cat([backward[i], feat_prop], dim=1)))
            outputs.append(self.reconstruct(out) + self.img_upsample(lr_curr))
        return torch.stack(outputs, dim=1)
