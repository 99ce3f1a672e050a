"""MMagic's ``DepthwiseSeparableConvModule`` and ``ASPP`` (atrous spatial pyramid pooling, DeepLabv3),
with MMCV's ConvModule layout so that the state-dict keys are MMagic's (``convs.<i>.…``, ``project.0.…``)."""
from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from .conv_module import ConvModule

_DEFAULT = "default"


class DepthwiseSeparableConvModule(nn.Module):
    """A depthwise ConvModule (groups = in_channels) then a pointwise 1×1 one; ``dw_*`` / ``pw_*`` cfgs
    override ``norm_cfg`` / ``act_cfg`` for either ('default': the shared one)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 dilation: int = 1, norm_cfg: Any = None, act_cfg: Any = dict(type="ReLU"), dw_norm_cfg: Any = _DEFAULT,
                 dw_act_cfg: Any = _DEFAULT, pw_norm_cfg: Any = _DEFAULT, pw_act_cfg: Any = _DEFAULT) -> None:
        super().__init__()
        pick = (lambda own, shared: shared if own == _DEFAULT else own)
        self.depthwise_conv = ConvModule(in_channels, in_channels, kernel_size, stride=stride, padding=padding,
                                         dilation=dilation, groups=in_channels, norm_cfg=pick(dw_norm_cfg, norm_cfg),
                                         act_cfg=pick(dw_act_cfg, act_cfg), who="DepthwiseSeparableConvModule")
        self.pointwise_conv = ConvModule(in_channels, out_channels, 1, norm_cfg=pick(pw_norm_cfg, norm_cfg),
                                         act_cfg=pick(pw_act_cfg, act_cfg), who="DepthwiseSeparableConvModule")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise_conv(self.depthwise_conv(x))


class ASPPPooling(nn.Sequential):
    """Global average pool, 1×1 ConvModule, bilinear upsampling back to the input's size."""

    def __init__(self, in_channels: int, out_channels: int, norm_cfg: Any, act_cfg: Any) -> None:
        super().__init__(nn.AdaptiveAvgPool2d(1), ConvModule(in_channels, out_channels, 1, norm_cfg=norm_cfg,
                                                             act_cfg=act_cfg, who="ASPPPooling"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        for module in self:
            x = module(x)
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class ASPP(nn.Module):
    """A 1×1 branch, one 3×3 branch per dilation (depthwise-separable with ``separable_conv``) and image
    pooling, concatenated and projected to ``out_channels`` (then dropout 0.5)."""

    def __init__(self, in_channels: int, out_channels: int = 256, mid_channels: int = 256,
                 dilations: Sequence[int] = (12, 24, 36), conv_cfg: Any = None, norm_cfg: Any = dict(type="BN"),
                 act_cfg: Any = dict(type="ReLU"), separable_conv: bool = False) -> None:
        super().__init__()
        branch = DepthwiseSeparableConvModule if separable_conv else ConvModule
        modules: list[nn.Module] = [ConvModule(in_channels, mid_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)]
        for dilation in dilations:
            modules.append(branch(in_channels, mid_channels, 3, padding=dilation, dilation=dilation, norm_cfg=norm_cfg,
                                  act_cfg=act_cfg))
        modules.append(ASPPPooling(in_channels, mid_channels, norm_cfg, act_cfg))
        self.convs = nn.ModuleList(modules)
        self.project = nn.Sequential(ConvModule(len(modules) * mid_channels, out_channels, 1, norm_cfg=norm_cfg,
                                                act_cfg=act_cfg), nn.Dropout(0.5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(torch.cat([conv(x) for conv in self.convs], dim=1))


__all__ = ["ASPP", "ASPPPooling", "DepthwiseSeparableConvModule"]
