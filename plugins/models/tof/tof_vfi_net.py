"""``TOFlowVFINet`` under MMagic's name, arguments and state-dict keys."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from mgx.core.errors import ConfigError

from ..ops.flow import flow_warp
from .spynet import TOFlowSPyNet


class ToFResBlock(nn.Module):
    """Two warped frames (N×2×3×H×W) -> their mean plus a residual of three convolutions (9×9, 1×1, 1×1)."""

    def __init__(self) -> None:
        super().__init__()
        self.res_block = nn.Sequential(nn.Conv2d(6, 64, kernel_size=9, stride=1, padding=4), nn.ReLU(inplace=True),
                                       nn.Conv2d(64, 64, kernel_size=1), nn.ReLU(inplace=True),
                                       nn.Conv2d(64, 3, kernel_size=1))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        n, _, _, h, w = frames.shape
        return self.res_block(frames.reshape(n, -1, h, w)) + frames.mean(dim=1)


class TOFlowVFINet(nn.Module):
    """TOFlow for frame interpolation: both frames warped half-way along SPyNet flows (each way), then
    ToFResBlock. N×2×3×H×W -> N×3×H×W (H, W multiples of 16).

    ``flow_cfg=dict(norm_cfg=None, pretrained=PATH_OR_URL)``: the SPyNet's batch norm and weights file
    (MMagic's converted ``pretrained_spynet_*.pth``, through mgx's weights path). ``rgb_mean``/``rgb_std``
    are kept as buffers, as MMagic keeps them (its forward does not use them: the DataPreprocessor
    normalises).
    """

    def __init__(self, rgb_mean: Sequence[float] = (0.485, 0.456, 0.406),
                 rgb_std: Sequence[float] = (0.229, 0.224, 0.225), flow_cfg: dict | None = None,
                 init_cfg: dict | None = None) -> None:
        super().__init__()
        flow_cfg = dict(norm_cfg=None, pretrained=None) if flow_cfg is None else dict(flow_cfg)
        unknown = sorted(set(flow_cfg) - {"norm_cfg", "pretrained"})
        if unknown:
            raise ConfigError(f"TOFlowVFINet: flow_cfg takes norm_cfg and pretrained, not {unknown}")
        self.register_buffer("mean", torch.tensor(list(rgb_mean), dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(list(rgb_std), dtype=torch.float32).view(1, -1, 1, 1))
        self.spynet = TOFlowSPyNet(norm_cfg=flow_cfg.get("norm_cfg"), pretrained=flow_cfg.get("pretrained"),
                                   warp_padding="border")
        self.resnet = ToFResBlock()

    def forward(self, imgs: torch.Tensor) -> torch.Tensor:
        if imgs.shape[1] != 2:
            raise ValueError(f"TOFlowVFINet interpolates between 2 frames, got {imgs.shape[1]}")
        flow_10 = self.spynet(imgs[:, 0], imgs[:, 1]).permute(0, 2, 3, 1)
        flow_01 = self.spynet(imgs[:, 1], imgs[:, 0]).permute(0, 2, 3, 1)
        warped_0 = flow_warp(imgs[:, 0], flow_01 / 2)
        warped_1 = flow_warp(imgs[:, 1], flow_10 / 2)
        return self.resnet(torch.stack([warped_0, warped_1], dim=1))
