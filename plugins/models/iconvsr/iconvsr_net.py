"""``IconVSRNet`` (Chan et al. 2021) under MMagic's name, arguments and state-dict keys: BasicVSR with
information refill from an EDVR feature extractor at keyframes and coupled propagation."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError

from ..basicvsr.basicvsr_net import UpsampleHead, bidirectional_flows
from ..ops.edvr_modules import EDVRFeatureExtractor
from ..ops.flow import SPyNet, flow_warp
from ..ops.sr_layers import ResidualBlocksWithInputConv


class IconVSRNet(UpsampleHead):
    """BasicVSR whose propagated features are refilled at keyframes (every ``keyframe_stride``-th and the
    last) with EDVR features of the ``2·padding + 1`` frames around them (the clip mirrored at its ends:
    ``padding`` 2 needs ≥ 5 frames, 3 ≥ 7), and whose forward branch also reads the backward features.
    Inputs are reflect-padded to multiples of 4 and the output cropped back."""

    def __init__(self, mid_channels: int = 64, num_blocks: int = 30, keyframe_stride: int = 5, padding: int = 2,
                 spynet_pretrained: str | None = None, edvr_pretrained: str | None = None) -> None:
        super().__init__(mid_channels)
        if padding not in (2, 3):
            raise ConfigError(f"IconVSRNet: padding must be 2 (REDS) or 3 (Vimeo-90K), got {padding!r}")
        if isinstance(keyframe_stride, bool) or not isinstance(keyframe_stride, int) or keyframe_stride < 1:
            raise ConfigError(f"IconVSRNet: keyframe_stride must be a positive int, got {keyframe_stride!r}")
        self.mid_channels, self.padding, self.keyframe_stride = mid_channels, padding, keyframe_stride
        self.spynet = SPyNet(pretrained=spynet_pretrained)
        # MMagic leaves the extractor at its default 64 channels, which only fits mid_channels=64; mgx gives it
        # mid_channels (the same network at 64)
        self.edvr = EDVRFeatureExtractor(mid_channels=mid_channels, num_frames=padding * 2 + 1,
                                         center_frame_idx=padding, pretrained=edvr_pretrained)
        self.backward_fusion = nn.Conv2d(2 * mid_channels, mid_channels, 3, 1, 1, bias=True)
        self.forward_fusion = nn.Conv2d(2 * mid_channels, mid_channels, 3, 1, 1, bias=True)
        self.backward_resblocks = ResidualBlocksWithInputConv(mid_channels + 3, mid_channels, num_blocks)
        self.forward_resblocks = ResidualBlocksWithInputConv(2 * mid_channels + 3, mid_channels, num_blocks)

    def compute_refill_features(self, lrs: torch.Tensor, keyframe_idx: list[int]) -> dict[int, torch.Tensor]:
        ends = {2: ([4, 3], [-4, -5]), 3: ([6, 5, 4], [-5, -6, -7])}[self.padding]
        if lrs.size(1) < 2 * self.padding + 1:
            raise ValueError(f"IconVSRNet(padding={self.padding}) needs clips of at least {2 * self.padding + 1} "
                             f"frames, got {lrs.size(1)}")
        padded = torch.cat([lrs[:, ends[0]], lrs, lrs[:, ends[1]]], dim=1)
        frames = 2 * self.padding + 1
        return {i: self.edvr(padded[:, i:i + frames].contiguous()) for i in keyframe_idx}

    def forward(self, lrs: torch.Tensor) -> torch.Tensor:
        n, t, c, h_input, w_input = lrs.shape
        pad_h, pad_w = (4 - h_input % 4) % 4, (4 - w_input % 4) % 4
        if pad_h or pad_w:  # frame by frame, so a mirror-extended clip stays mirror-extended
            lrs = F.pad(lrs.reshape(-1, c, h_input, w_input), [0, pad_w, 0, pad_h], mode="reflect")
            lrs = lrs.view(n, t, c, h_input + pad_h, w_input + pad_w)
        flows_forward, flows_backward = bidirectional_flows(self.spynet, lrs)
        h, w = lrs.shape[3:]
        keyframe_idx = list(range(0, t, self.keyframe_stride))
        if keyframe_idx[-1] != t - 1:
            keyframe_idx.append(t - 1)
        refill = self.compute_refill_features(lrs, keyframe_idx)
        backward, feat_prop = [], lrs.new_zeros(n, self.mid_channels, h, w)
        for i in range(t - 1, -1, -1):
            if i < t - 1:
                feat_prop = flow_warp(feat_prop, flows_backward[:, i].permute(0, 2, 3, 1))
            if i in refill:
                feat_prop = self.backward_fusion(torch.cat([feat_prop, refill[i]], dim=1))
            feat_prop = self.backward_resblocks(torch.cat([lrs[:, i], feat_prop], dim=1))
            backward.append(feat_prop)
        backward = backward[::-1]
        outputs, feat_prop = [], torch.zeros_like(feat_prop)
        for i in range(t):
            if i > 0:
                flow = flows_forward[:, i - 1] if flows_forward is not None else flows_backward[:, -i]
                feat_prop = flow_warp(feat_prop, flow.permute(0, 2, 3, 1))
            if i in refill:
                feat_prop = self.forward_fusion(torch.cat([feat_prop, refill[i]], dim=1))
            feat_prop = self.forward_resblocks(torch.cat([lrs[:, i], backward[i], feat_prop], dim=1))
            outputs.append(self.reconstruct(feat_prop) + self.img_upsample(lrs[:, i]))
        return torch.stack(outputs, dim=1)[:, :, :, :4 * h_input, :4 * w_input]
