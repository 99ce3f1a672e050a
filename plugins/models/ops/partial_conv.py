"""Partial convolution (Liu et al. 2018, "Image Inpainting for Irregular Holes Using Partial
Convolutions") with MMagic's ``PConv`` arguments and buffers, and ``MaskConvModule`` (MMCV's
conv / norm / activation layout around it).

For a window with valid-pixel count ``sum(M)`` out of ``numel`` mask entries (mask 1 = valid)::

    out = W·(X ⊙ M) · numel / sum(M) + b   where sum(M) > 0, else 0
    new mask = 1 where sum(M) > 0, else 0

``multi_channel=True`` uses a per-channel mask (the counting kernel then spans in×k×k); otherwise a
one-channel mask and a 1×k×k kernel. The counting kernel is the buffer ``weight_mask_updater``
(MMagic's name, so its checkpoints load).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError

from .conv_module import ConvModule


class PartialConv2d(nn.Conv2d):
    """``nn.Conv2d`` renormalised over the valid (mask = 1) part of each window (module docstring)."""

    def __init__(self, *args: Any, multi_channel: bool = False, eps: float = 1e-8, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.multi_channel, self.eps = bool(multi_channel), float(eps)
        shape = (self.out_channels, self.in_channels) if self.multi_channel else (1, 1)
        self.register_buffer("weight_mask_updater", torch.ones(*shape, *self.kernel_size))
        self.mask_kernel_numel = int(self.weight_mask_updater[0].numel())

    def forward(self, input: torch.Tensor, mask: torch.Tensor | None = None,
                return_mask: bool = True) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        if mask is None:
            return super().forward(input)
        expected = input.shape[1] if self.multi_channel else 1
        if mask.dim() != 4 or mask.shape[1] != expected:
            raise ValueError(f"PConv: the mask must be N×{expected}×H×W for this layer "
                             f"(multi_channel={self.multi_channel}), got {tuple(mask.shape)}")
        with torch.no_grad():
            valid = F.conv2d(mask, self.weight_mask_updater.to(mask.dtype), stride=self.stride,
                             padding=self.padding, dilation=self.dilation)
            ratio = self.mask_kernel_numel / (valid + self.eps)
            updated_mask = valid.clamp(0, 1)
            ratio = ratio * updated_mask
        raw = super().forward(input * mask)
        if self.bias is None:
            output = raw * ratio
        else:
            bias = self.bias.view(1, -1, 1, 1)
            output = ((raw - bias) * ratio + bias) * updated_mask
        return (output, updated_mask) if return_mask else output


def partial_conv_args(conv_cfg: Any, who: str) -> dict:
    """The PConv options of ``conv_cfg=dict(type='PConv', multi_channel=..., eps=...)``, checked."""
    if not isinstance(conv_cfg, dict) or conv_cfg.get("type") != "PConv":
        raise ConfigError(f"{who}: conv_cfg must be dict(type='PConv', ...) (the only mask convolution), "
                          f"got {conv_cfg!r}")
    unknown = sorted(set(conv_cfg) - {"type", "multi_channel", "eps"})
    if unknown:
        raise ConfigError(f"{who}: conv_cfg takes multi_channel and eps, not {unknown}")
    return {key: value for key, value in conv_cfg.items() if key != "type"}


class MaskConvModule(ConvModule):
    """MMCV's ``ConvModule`` around a ``PartialConv2d``: ``forward(x, mask)`` returns (features, updated
    mask). The layout, and so the state-dict keys (``conv.weight``, ``conv.weight_mask_updater``,
    ``bn.*``), is ConvModule's."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 dilation: int = 1, bias: bool | str = "auto", conv_cfg: Any = None, norm_cfg: Any = None,
                 act_cfg: Any = dict(type="ReLU"), who: str = "MaskConvModule") -> None:
        options = partial_conv_args(conv_cfg, who)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, bias, norm_cfg=norm_cfg,
                         act_cfg=act_cfg, who=who)
        self.conv = PartialConv2d(in_channels, out_channels, kernel_size, stride, padding, dilation,
                                  bias=self.conv.bias is not None, **options)
        self.init_weights()

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, activate: bool = True, norm: bool = True,
                return_mask: bool = True) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        updated_mask = None
        for step in self.order:
            if step == "conv":
                if return_mask and mask is not None:
                    x, updated_mask = self.conv(x, mask, return_mask=True)
                else:
                    x = self.conv(x, mask, return_mask=False)
            elif step == "norm" and norm and self.norm_name is not None:
                x = getattr(self, self.norm_name)(x)
            elif step == "act" and activate and self.activate is not None:
                x = self.activate(x)
        return (x, updated_mask) if return_mask and mask is not None else x


__all__ = ["MaskConvModule", "PartialConv2d", "partial_conv_args"]
