"""Optical flow for the video families (MMagic's ``flow_warp`` and the BasicVSR family's ``SPyNet``).

``SPyNet`` keeps MMagic's state-dict keys (``basic_module.{level}.basic_module.{layer}.conv.weight``,
buffers ``mean``/``std``), so the published ``spynet_20210409-c6c1bd09.pth`` loads; ``pretrained`` (a
path or URL) goes through mgx's weights path (``base_models/pretrained.py``: cached, hash-checked, a
clear message under ``MGX_OFFLINE=1``).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError

from .sr_layers import ConvModule


def flow_warp(x: torch.Tensor, flow: torch.Tensor, interpolation: str = "bilinear", padding_mode: str = "zeros",
              align_corners: bool = True) -> torch.Tensor:
    """Sample N×C×H×W ``x`` at (j + flow_x, i + flow_y) for every pixel (i, j); ``flow`` is N×H×W×2 in pixels."""
    if x.shape[-2:] != flow.shape[1:3]:
        raise ValueError(f"flow_warp: the input is {tuple(x.shape[-2:])} but the flow {tuple(flow.shape[1:3])}")
    height, width = x.shape[-2:]
    rows, cols = torch.meshgrid(torch.arange(height, device=flow.device, dtype=x.dtype),
                                torch.arange(width, device=flow.device, dtype=x.dtype), indexing="ij")
    target = torch.stack((cols, rows), dim=2) + flow
    # grid_sample wants [-1, 1]; with align_corners the ends are the outer pixel centres
    grid_x = 2.0 * target[..., 0] / max(width - 1, 1) - 1.0
    grid_y = 2.0 * target[..., 1] / max(height - 1, 1) - 1.0
    return F.grid_sample(x, torch.stack((grid_x, grid_y), dim=3), mode=interpolation, padding_mode=padding_mode,
                         align_corners=align_corners)


class SPyNetBasicModule(nn.Module):
    """One pyramid level: [reference, warped support, flow] (8 channels) -> flow residual (2 channels)."""

    def __init__(self) -> None:
        super().__init__()
        widths = (8, 32, 64, 32, 16, 2)
        self.basic_module = nn.Sequential(*(ConvModule(widths[i], widths[i + 1], 7, 1, 3, nn.ReLU() if i < 4 else None)
                                            for i in range(5)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.basic_module(x)


class SPyNet(nn.Module):
    """Spatial-pyramid optical flow (Ranjan & Black 2017), six levels, no batch norm: BasicVSR's version.

    ``forward(ref, supp)`` is the N×2×H×W flow from ``ref`` to ``supp`` (RGB in [0, 1]); inputs are
    resized to multiples of 32 and the flow resized back and rescaled.
    """

    def __init__(self, pretrained: str | None = None) -> None:
        super().__init__()
        self.basic_module = nn.ModuleList(SPyNetBasicModule() for _ in range(6))
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
        if pretrained is not None:
            if not isinstance(pretrained, str):
                raise ConfigError(f"SPyNet: pretrained must be a path or URL, got {pretrained!r}")
            from ..base_models.pretrained import load_part_weights

            # MMagic's file lacks mean/std: MMagic registers them after loading
            load_part_weights(self, pretrained, "SPyNet", allow_missing=("mean", "std"))

    def compute_flow(self, ref: torch.Tensor, supp: torch.Tensor) -> torch.Tensor:
        """Flow from ``ref`` to ``supp`` whose sides are multiples of 32, coarse to fine."""
        refs, supps = [(ref - self.mean) / self.std], [(supp - self.mean) / self.std]
        for _ in range(5):
            refs.append(F.avg_pool2d(refs[-1], kernel_size=2, stride=2, count_include_pad=False))
            supps.append(F.avg_pool2d(supps[-1], kernel_size=2, stride=2, count_include_pad=False))
        refs, supps = refs[::-1], supps[::-1]
        flow = ref.new_zeros(ref.shape[0], 2, ref.shape[2] // 32, ref.shape[3] // 32)
        for level, (ref_level, supp_level) in enumerate(zip(refs, supps)):
            flow_up = flow if level == 0 else \
                F.interpolate(flow, scale_factor=2, mode="bilinear", align_corners=True) * 2.0
            warped = flow_warp(supp_level, flow_up.permute(0, 2, 3, 1), padding_mode="border")
            flow = flow_up + self.basic_module[level](torch.cat([ref_level, warped, flow_up], 1))
        return flow

    def forward(self, ref: torch.Tensor, supp: torch.Tensor) -> torch.Tensor:
        height, width = ref.shape[2:4]
        up_h, up_w = -(-height // 32) * 32, -(-width // 32) * 32
        ref = F.interpolate(ref, size=(up_h, up_w), mode="bilinear", align_corners=False)
        supp = F.interpolate(supp, size=(up_h, up_w), mode="bilinear", align_corners=False)
        flow = F.interpolate(self.compute_flow(ref, supp), size=(height, width), mode="bilinear",
                             align_corners=False)
        scale = flow.new_tensor([width / up_w, height / up_h]).view(1, 2, 1, 1)
        return flow * scale
