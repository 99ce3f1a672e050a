"""TOFlow's SPyNet: four pyramid levels, optional batch norm, no input normalisation (TOFlow normalises
its frames itself) — unlike BasicVSR's six-level SPyNet in ``ops/flow.py``. Keys are MMagic's:
``basic_module.{level}.basic_module.{layer}.conv.weight`` (``.bn.*`` with batch norm)."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError

from ..ops.conv_module import ConvModule, norm_type
from ..ops.flow import flow_warp

LEVELS = 4


class TOFlowSPyNetBasicModule(nn.Module):
    """One level: [reference, warped support, flow] (8 channels) -> flow residual, five 7×7 convs."""

    def __init__(self, norm_cfg: Any) -> None:
        super().__init__()
        widths = (8, 32, 64, 32, 16, 2)
        self.basic_module = nn.Sequential(*(
            ConvModule(widths[i], widths[i + 1], 7, 1, 3, norm_cfg=norm_cfg if i < 4 else None,
                       act_cfg=dict(type="ReLU") if i < 4 else None, who="TOFlow SPyNet")
            for i in range(5)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.basic_module(x)


class TOFlowSPyNet(nn.Module):
    """``forward(ref, supp)``: the N×2×H×W flow from ``ref`` to ``supp`` (H, W multiples of 16), coarse to
    fine; ``warp_padding``: how the support frame is sampled outside (MMagic: 'zeros' in the VSR net,
    'border' in the VFI net)."""

    def __init__(self, norm_cfg: Any = None, pretrained: str | None = None, warp_padding: str = "zeros") -> None:
        super().__init__()
        norm_type(norm_cfg, "TOFlow SPyNet flow_cfg")
        self.warp_padding = warp_padding
        self.basic_module = nn.ModuleList(TOFlowSPyNetBasicModule(norm_cfg) for _ in range(LEVELS))
        if pretrained is not None:
            if not isinstance(pretrained, str):
                raise ConfigError(f"TOFlowVFINet: flow_cfg.pretrained must be a path or URL, got {pretrained!r}")
            from ..base_models.pretrained import load_part_weights

            load_part_weights(self, pretrained, "TOFlowVFINet.spynet")

    def forward(self, ref: torch.Tensor, supp: torch.Tensor) -> torch.Tensor:
        height, width = ref.shape[-2:]
        if height % 2 ** LEVELS or width % 2 ** LEVELS:
            raise ValueError(f"TOFlow's SPyNet needs H and W multiples of 16, got {height}×{width} "
                             f"(DataPreprocessor's pad_size_divisor=16 pads them)")
        refs, supps = [ref], [supp]
        for _ in range(LEVELS - 1):
            refs.insert(0, F.avg_pool2d(refs[0], kernel_size=2, stride=2, count_include_pad=False))
            supps.insert(0, F.avg_pool2d(supps[0], kernel_size=2, stride=2, count_include_pad=False))
        flow = ref.new_zeros(ref.shape[0], 2, height // 16, width // 16)
        for level in range(LEVELS):
            flow_up = F.interpolate(flow, scale_factor=2, mode="bilinear", align_corners=True) * 2.0
            warped = flow_warp(supps[level], flow_up.permute(0, 2, 3, 1), padding_mode=self.warp_padding)
            flow = flow_up + self.basic_module[level](torch.cat([refs[level], warped, flow_up], 1))
        return flow
