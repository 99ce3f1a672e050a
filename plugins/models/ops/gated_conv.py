"""Gated convolution (Yu et al. 2019, "Free-Form Image Inpainting with Gated Convolution") as MMagic's
``SimpleGatedConvModule``: one ``ConvModule`` with twice the output channels, split into features and
gates, ``y = φ(features) · σ(gates)`` (φ ELU and σ sigmoid by default; either may be None). State-dict
keys ``conv.conv.weight`` / ``conv.conv.bias`` as MMagic's."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .conv_module import _INPLACE, ConvModule, _activation


def _plain_activation(cfg: Any, who: str) -> nn.Module | None:
    """An activation built as MMCV's build_activation_layer builds it: not in place unless asked."""
    if isinstance(cfg, dict) and cfg.get("type") in _INPLACE:
        cfg = {"inplace": False, **cfg}
    return _activation(cfg, who)


class SimpleGatedConvModule(nn.Module):
    """``φ(conv(x)[:out]) · σ(conv(x)[out:])``; ``kwargs`` go to the ConvModule (its own activation is off)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 feat_act_cfg: dict | None = dict(type="ELU"), gate_act_cfg: dict | None = dict(type="Sigmoid"),
                 **kwargs: Any) -> None:
        super().__init__()
        who = "SimpleGatedConvModule"
        kwargs = {**kwargs, "act_cfg": None}
        self.conv = ConvModule(in_channels, out_channels * 2, kernel_size, who=who, **kwargs)
        self.feat_act, self.gate_act = _plain_activation(feat_act_cfg, who), _plain_activation(gate_act_cfg, who)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features, gates = torch.chunk(self.conv(x), 2, dim=1)
        if self.feat_act is not None:
            features = self.feat_act(features)
        if self.gate_act is not None:
            gates = self.gate_act(gates)
        return features * gates


__all__ = ["SimpleGatedConvModule"]
