"""``TOFlowVSRNet`` under MMagic's name, arguments and state-dict keys."""
from __future__ import annotations

import torch
from torch import nn

from ..ops.flow import flow_warp
from .spynet import TOFlowSPyNet

NUM_FRAMES = 7


class TOFlowVSRNet(nn.Module):
    """TOFlow for video super-resolution: seven frames already upsampled to the output size, each
    warped to the reference frame by SPyNet (batch-normalised) flow, then four convolutions add a residual
    to the reference frame. N×7×3×H×W -> N×3×H×W (H, W multiples of 16).

    ``adapt_official_weights``: the weights converted from the official code take frame 0 as the
    reference, so the frames are reordered [3, 0, 1, 2, 4, 5, 6] first; otherwise the reference is frame 3.
    """

    def __init__(self, adapt_official_weights: bool = False, init_cfg: dict | None = None) -> None:
        super().__init__()
        self.adapt_official_weights = bool(adapt_official_weights)
        self.ref_idx = 0 if self.adapt_official_weights else 3
        self.spynet = TOFlowSPyNet(norm_cfg=dict(type="BN"))
        self.conv1 = nn.Conv2d(3 * NUM_FRAMES, 64, 9, 1, 4)
        self.conv2 = nn.Conv2d(64, 64, 9, 1, 4)
        self.conv3 = nn.Conv2d(64, 64, 1)
        self.conv4 = nn.Conv2d(64, 3, 1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, lrs: torch.Tensor) -> torch.Tensor:
        if lrs.shape[1] != NUM_FRAMES:
            raise ValueError(f"TOFlowVSRNet reads {NUM_FRAMES} frames, got {lrs.shape[1]} "
                             f"(num_input_frames=7 in the dataset)")
        if self.adapt_official_weights:
            lrs = lrs[:, [3, 0, 1, 2, 4, 5, 6]]
        n, t, _, h, w = lrs.shape
        lr_ref = lrs[:, self.ref_idx]
        aligned = [lr_ref if i == self.ref_idx else
                   flow_warp(lrs[:, i], self.spynet(lr_ref, lrs[:, i]).permute(0, 2, 3, 1)) for i in range(t)]
        hr = torch.stack(aligned, dim=1).view(n, -1, h, w)
        hr = self.relu(self.conv1(hr))
        hr = self.relu(self.conv2(hr))
        hr = self.relu(self.conv3(hr))
        return self.conv4(hr) + lr_ref
