"""MMagic 1.2.0's ``BigGANDiscriminator`` and ``BigGANDeepDiscriminator``: residual down-sampling blocks
(self-attention where the arch says), act, sum over space, ``decision`` Linear plus the projection
⟨proj_y(label), h⟩. Keys are MMagic's (``conv_blocks.<i>``, ``input_conv`` for the deep one,
``decision``, ``proj_y``)."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from mgx.core.errors import ConfigError

from ..ops.patch_discriminator import positive_int
from ..ops.spectral_norm import SelfAttentionBlock, SNConvModule, check_sn_style, sn_embedding, sn_linear
from ..sagan.modules import build_activation
from .generators import _init_type
from .modules import BigGANDeepDiscResBlock, BigGANDiscResBlock, block_kwargs, init_biggan

_BIGGAN = {  # scale: (in factors after the image's channels, out factors, downsample, attention index)
    32: ([4, 4, 4], [4, 4, 4, 4], [True, True, False, False], -1),
    64: ([1, 2, 4, 8], [1, 2, 4, 8, 16], [True] * 4 + [False], -1),
    128: ([1, 2, 4, 8, 16], [1, 2, 4, 8, 16, 16], [True] * 5 + [False], 0),
    256: ([1, 2, 4, 8, 8, 16], [1, 2, 4, 8, 8, 16, 16], [True] * 6 + [False], 1),
    512: ([1, 1, 2, 4, 8, 8, 16], [1, 1, 2, 4, 8, 8, 16, 16], [True] * 7 + [False], 3),
}
_DEEP = {  # scale: (in factors, out factors, downsample, attention index)
    32: ([4, 4, 4], [4, 4, 4], [True, True, False, False], -1),
    64: ([1, 2, 4, 8], [2, 4, 8, 16], [True] * 4 + [False], -1),
    128: ([1, 2, 4, 8, 16], [2, 4, 8, 16, 16], [True] * 5 + [False], 0),
    256: ([1, 2, 4, 8, 8, 16], [2, 4, 8, 8, 16, 16], [True] * 6 + [False], 1),
    512: ([1, 1, 2, 4, 8, 8, 16], [1, 2, 4, 8, 8, 16, 16], [True] * 7 + [False], 3),
}


def _arch(table: dict, scale: int, base: int, image_channels: int | None, who: str) -> dict:
    if scale not in table:
        raise ConfigError(f"{who}: input_scale must be one of {sorted(table)} (or give arch_cfg), got {scale!r}")
    ins, outs, downsample, attention_at = table[scale]
    head = [image_channels] if image_channels is not None else []
    return dict(in_channels=head + [base * f for f in ins], out_channels=[base * f for f in outs],
                downsample=downsample, attention=[i == attention_at for i in range(len(downsample))])


def _checked(arch: Any, who: str) -> dict:
    keys = ("in_channels", "out_channels", "downsample", "attention")
    if not isinstance(arch, dict) or any(not isinstance(arch.get(k), (list, tuple)) for k in keys):
        raise ConfigError(f"{who}: arch_cfg must be a dict of lists {keys}, got {arch!r}")
    return arch


class _ProjectionHead(nn.Module):
    def _head(self, width: int, out_channels: int, num_classes: int, act_cfg: dict, sn: dict, who: str) -> None:
        self.activate = build_activation(act_cfg, who)
        self.decision = sn_linear(width, out_channels, **sn)
        if num_classes > 0:
            self.proj_y = sn_embedding(num_classes, width, **sn)

    def _decide(self, h: torch.Tensor, label: torch.Tensor | None) -> torch.Tensor:
        h = torch.sum(self.activate(h), dim=[2, 3])
        out = self.decision(h)
        if self.num_classes > 0:
            if label is None:
                raise ValueError(f"{type(self).__name__}: a conditional discriminator needs label")
            out = out + torch.sum(self.proj_y(label.reshape(-1)) * h, dim=1, keepdim=True)
        return out

    def _setup(self, who: str, input_scale: int, num_classes: int, in_channels: int, out_channels: int,
               base_channels: int, sn_style: str) -> None:
        for name, value in (("input_scale", input_scale), ("base_channels", base_channels),
                            ("in_channels", in_channels), ("out_channels", out_channels)):
            positive_int(value, name, who)
        check_sn_style(sn_style, who)
        self.num_classes, self.out_channels, self.input_scale = num_classes, out_channels, input_scale
        self.in_channels, self.base_channels = in_channels, base_channels


class BigGANDiscriminator(_ProjectionHead):
    def __init__(self, input_scale: int, num_classes: int = 0, in_channels: int = 3, out_channels: int = 1,
                 base_channels: int = 96, sn_eps: float = 1e-6, sn_style: str = "ajbrock",
                 act_cfg: dict = dict(type="ReLU"), with_spectral_norm: bool = True,
                 blocks_cfg: dict = dict(type="BigGANDiscResBlock"), arch_cfg: Any = None,
                 init_cfg: dict | None = dict(type="ortho")) -> None:
        super().__init__()
        who = "BigGANDiscriminator"
        self._setup(who, input_scale, num_classes, in_channels, out_channels, base_channels, sn_style)
        self.arch = _checked(arch_cfg, who) if arch_cfg else _arch(_BIGGAN, input_scale, base_channels, in_channels,
                                                                   who)
        block = block_kwargs(blocks_cfg, "BigGANDiscResBlock", who, act_cfg=act_cfg, sn_eps=sn_eps, sn_style=sn_style,
                             with_spectral_norm=with_spectral_norm)
        self.conv_blocks = nn.ModuleList()
        for index, out_ch in enumerate(self.arch["out_channels"]):
            self.conv_blocks.append(BigGANDiscResBlock(self.arch["in_channels"][index], out_ch, **block,
                                                       with_downsample=self.arch["downsample"][index],
                                                       is_head_block=index == 0))
            if self.arch["attention"][index]:
                self.conv_blocks.append(SelfAttentionBlock(out_ch, with_spectral_norm, sn_eps, sn_style))
        sn = dict(with_spectral_norm=with_spectral_norm, sn_style=sn_style, eps=sn_eps)
        self._head(self.arch["out_channels"][-1], out_channels, num_classes, act_cfg, sn, who)
        init_biggan(self, _init_type(init_cfg, None, who), who)

    def forward(self, x: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        for block in self.conv_blocks:
            x = block(x)
        return self._decide(x, label)


class BigGANDeepDiscriminator(_ProjectionHead):
    def __init__(self, input_scale: int, num_classes: int = 0, in_channels: int = 3, out_channels: int = 1,
                 base_channels: int = 96, block_depth: int = 2, sn_eps: float = 1e-6, sn_style: str = "ajbrock",
                 init_type: str | None = None, act_cfg: dict = dict(type="ReLU", inplace=False),
                 with_spectral_norm: bool = True, blocks_cfg: dict = dict(type="BigGANDeepDiscResBlock"),
                 arch_cfg: Any = None, pretrained: Any = None, init_cfg: dict | None = None) -> None:
        super().__init__()
        who = "BigGANDeepDiscriminator"
        if pretrained is not None:
            raise ConfigError(f"{who}: pretrained is not supported; load MMagic weights with load_from")
        self._setup(who, input_scale, num_classes, in_channels, out_channels, base_channels, sn_style)
        self.block_depth = block_depth
        self.arch = _checked(arch_cfg, who) if arch_cfg else _arch(_DEEP, input_scale, base_channels, None, who)
        block = block_kwargs(blocks_cfg, "BigGANDeepDiscResBlock", who, act_cfg=act_cfg, sn_eps=sn_eps,
                             sn_style=sn_style, with_spectral_norm=with_spectral_norm)
        # MMagic's input conv always takes 3 channels
        self.input_conv = SNConvModule(3, self.arch["in_channels"][0], kernel_size=3, padding=1, act_cfg=None,
                                       with_spectral_norm=with_spectral_norm,
                                       spectral_norm_cfg=dict(eps=sn_eps, sn_style=sn_style), who=who)
        self.conv_blocks = nn.ModuleList()
        for index, out_ch in enumerate(self.arch["out_channels"]):
            for depth in range(block_depth):
                self.conv_blocks.append(BigGANDeepDiscResBlock(
                    self.arch["in_channels"][index] if depth == 0 else out_ch, out_ch, **block,
                    with_downsample=self.arch["downsample"][index] and depth == 0))
            if self.arch["attention"][index]:
                self.conv_blocks.append(SelfAttentionBlock(out_ch, with_spectral_norm, sn_eps, sn_style))
        sn = dict(with_spectral_norm=with_spectral_norm, sn_style=sn_style, eps=sn_eps)
        self._head(self.arch["out_channels"][-1], out_channels, num_classes, act_cfg, sn, who)
        init_biggan(self, _init_type(init_cfg, init_type, who), who)

    def forward(self, x: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        x = self.input_conv(x)
        for block in self.conv_blocks:
            x = block(x)
        return self._decide(x, label)


__all__ = ["BigGANDeepDiscriminator", "BigGANDiscriminator"]
