"""SNGAN/SAGAN's residual blocks and class-conditional norm, as MMagic 1.2.0 builds them
(``SNGANGenResBlock``, ``SNGANDiscResBlock``, ``SNGANDiscHeadResBlock``, ``SNConditionNorm``):
attribute names are MMagic's, so are the state-dict keys.

``init_cfg=dict(type=...)``: ``'studio'`` (orthogonal weights, zero biases), ``'BigGAN'`` (Xavier-uniform,
gain 1), ``'sagan'`` (Xavier-uniform, zero biases), ``'sngan'``/``'sngan-proj'``/``'gan-proj'`` (Xavier-uniform,
gain √2 in the residual convs, 1 in shortcuts). The networks apply them over every layer (``init.py``).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from mgx.core.errors import ConfigError

from ..ops.conv_module import ACTIVATIONS
from ..ops.spectral_norm import SNConvModule, check_sn_style, sn_conv_args, sn_embedding

INIT_TYPES = ("STUDIO", "BIGGAN", "SAGAN", "SNGAN", "SNGAN-PROJ", "GAN-PROJ")
_CONV = dict(kernel_size=3, stride=1, padding=1, act_cfg=None)


def init_type_of(init_cfg: Any, who: str) -> str:
    """The upper-cased ``init_cfg['type']``, checked."""
    kind = init_cfg.get("type") if isinstance(init_cfg, dict) else None
    if not isinstance(kind, str) or kind.upper() not in INIT_TYPES:
        raise ConfigError(f"{who}: init_cfg must be dict(type=...) with type one of {INIT_TYPES} (any case); load "
                          f"pretrained weights with load_from; got {init_cfg!r}")
    return kind.upper()


def build_activation(act_cfg: Any, who: str) -> nn.Module:
    """``act_cfg`` as MMagic's registry builds it (ReLU not in place unless ``inplace=True``)."""
    if not isinstance(act_cfg, dict) or act_cfg.get("type") not in ACTIVATIONS:
        raise ConfigError(f"{who}: act_cfg must be dict(type=one of {list(ACTIVATIONS)}, ...), got {act_cfg!r}")
    try:
        return ACTIVATIONS[act_cfg["type"]](**{k: v for k, v in act_cfg.items() if k != "type"})
    except TypeError as error:
        raise ConfigError(f"{who}: act_cfg {act_cfg!r}: {error}") from None


def _conv_cfg(conv_cfg: dict | None, who: str) -> dict:
    cfg = {**_CONV, **(conv_cfg or {})}
    unknown = sorted(set(cfg) - {"kernel_size", "stride", "padding", "act_cfg", "bias", "norm_cfg", "order"})
    if unknown:
        raise ConfigError(f"{who}: conv_cfg takes ConvModule arguments, got unknown {unknown}")
    return cfg


class SNConditionNorm(nn.Module):
    """BatchNorm (or InstanceNorm) then, with ``use_cbn``, a per-class scale and shift from two embeddings
    (``weight_embedding``, ``bias_embedding``; the scale is ``1 + embedding`` under the 'BigGAN' and
    'studio' inits). SyncBN is built as BatchNorm (mgx's DDP keeps per-process statistics)."""

    def __init__(self, in_channels: int, num_classes: int, use_cbn: bool = True, norm_cfg: dict = dict(type="BN"),
                 cbn_norm_affine: bool = False, auto_sync_bn: bool = True, with_spectral_norm: bool = False,
                 sn_style: str = "torch", norm_eps: float = 1e-4, sn_eps: float = 1e-12,
                 init_cfg: dict = dict(type="BigGAN")) -> None:
        super().__init__()
        who = "SNConditionNorm"
        self.use_cbn, self.init_type = use_cbn, init_type_of(init_cfg, who)
        norm_cfg = dict(norm_cfg)
        kind = norm_cfg.pop("type", None)
        if kind not in ("IN", "BN", "SyncBN"):
            raise ConfigError(f"{who}: norm_cfg.type must be 'IN', 'BN' or 'SyncBN', got {kind!r}")
        if use_cbn:
            norm_cfg.setdefault("affine", cbn_norm_affine)
        norm_cfg.setdefault("eps", norm_eps)
        norm_cfg.pop("requires_grad", None)
        self.norm = (nn.InstanceNorm2d if kind == "IN" else nn.BatchNorm2d)(in_channels, **norm_cfg)
        if use_cbn:
            if num_classes <= 0:
                raise ConfigError(f"{who}: num_classes must be > 0 with use_cbn=True, got {num_classes}")
            self.reweight_embedding = self.init_type in ("BIGGAN", "STUDIO")
            sn = dict(with_spectral_norm=with_spectral_norm, sn_style=check_sn_style(sn_style, who), eps=sn_eps)
            self.weight_embedding = sn_embedding(num_classes, in_channels, **sn)
            self.bias_embedding = sn_embedding(num_classes, in_channels, **sn)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        out = self.norm(x)
        if self.use_cbn:
            weight = self.weight_embedding(y)[:, :, None, None]
            bias = self.bias_embedding(y)[:, :, None, None]
            if self.reweight_embedding:
                weight = weight + 1.0
            out = out * weight + bias
        return out


class SNGANGenResBlock(nn.Module):
    """norm_1(x, y), act, ×2 nearest upsample, conv_1, norm_2, act, conv_2; plus a shortcut
    (upsample + 1×1 ``shortcut`` conv when the width changes or it upsamples)."""

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int | None = None,
                 num_classes: int = 0, use_cbn: bool = True, use_norm_affine: bool = False,
                 act_cfg: dict = dict(type="ReLU"), norm_cfg: dict = dict(type="BN"),
                 upsample_cfg: dict = dict(type="nearest", scale_factor=2), upsample: bool = True,
                 auto_sync_bn: bool = True, conv_cfg: dict | None = None, with_spectral_norm: bool = False,
                 with_embedding_spectral_norm: bool | None = None, sn_style: str = "torch", norm_eps: float = 1e-4,
                 sn_eps: float = 1e-12, init_cfg: dict = dict(type="BigGAN")) -> None:
        super().__init__()
        who = "SNGANGenResBlock"
        self.learnable_sc = in_channels != out_channels or upsample
        self.with_upsample = upsample
        self.activate = build_activation(act_cfg, who)
        hidden_channels = out_channels if hidden_channels is None else hidden_channels
        if upsample:
            cfg = dict(upsample_cfg)
            mode = cfg.pop("type", "nearest")
            if mode not in ("nearest", "bilinear"):
                raise ConfigError(f"{who}: upsample_cfg.type must be 'nearest' or 'bilinear', got {mode!r}")
            self.upsample = nn.Upsample(mode=mode, **cfg)
        conv = _conv_cfg(conv_cfg, who)
        sn = sn_conv_args(with_spectral_norm, sn_eps, sn_style, who)
        self.conv_1 = SNConvModule(in_channels, hidden_channels, **sn, **conv)
        self.conv_2 = SNConvModule(hidden_channels, out_channels, **sn, **conv)
        embedding_sn = with_spectral_norm if with_embedding_spectral_norm is None else with_embedding_spectral_norm
        norm = (num_classes, use_cbn, norm_cfg, use_norm_affine, auto_sync_bn, embedding_sn, sn_style, norm_eps,
                sn_eps, init_cfg)
        self.norm_1 = SNConditionNorm(in_channels, *norm)
        self.norm_2 = SNConditionNorm(hidden_channels, *norm)
        if self.learnable_sc:
            self.shortcut = SNConvModule(in_channels, out_channels, kernel_size=1, stride=1, padding=0, act_cfg=None,
                                         **sn)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        out = self.activate(self.norm_1(x, y))
        if self.with_upsample:
            out = self.upsample(out)
        out = self.conv_2(self.activate(self.norm_2(self.conv_1(out), y)))
        shortcut = x
        if self.learnable_sc:
            shortcut = self.shortcut(self.upsample(x) if self.with_upsample else x)
        return out + shortcut


class SNGANDiscResBlock(nn.Module):
    """act, conv_1, act, conv_2, (2×2 average pool); plus a shortcut (1×1 conv, then pool) when the width
    changes or it downsamples. The first activation is MMagic's: with ``inplace=True`` it rewrites the
    block's input, which the shortcut then reads (the 'wReLUinplace' configs)."""

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int | None = None,
                 downsample: bool = False, act_cfg: dict = dict(type="ReLU"), conv_cfg: dict | None = None,
                 with_spectral_norm: bool = True, sn_style: str = "torch", sn_eps: float = 1e-12,
                 init_cfg: dict = dict(type="BigGAN")) -> None:
        super().__init__()
        who = "SNGANDiscResBlock"
        hidden_channels = out_channels if hidden_channels is None else hidden_channels
        self.with_downsample = downsample
        self.activate = build_activation(act_cfg, who)
        conv = _conv_cfg(conv_cfg, who)
        sn = sn_conv_args(with_spectral_norm, sn_eps, sn_style, who)
        self.conv_1 = SNConvModule(in_channels, hidden_channels, **sn, **conv)
        self.conv_2 = SNConvModule(hidden_channels, out_channels, **sn, **conv)
        if downsample:
            self.downsample = nn.AvgPool2d(2, 2)
        self.learnable_sc = in_channels != out_channels or downsample
        if self.learnable_sc:
            self.shortcut = SNConvModule(in_channels, out_channels, kernel_size=1, stride=1, padding=0, act_cfg=None,
                                         **sn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv_2(self.activate(self.conv_1(self.activate(x))))
        if self.with_downsample:
            out = self.downsample(out)
        shortcut = x
        if self.learnable_sc:
            shortcut = self.shortcut(x)
            if self.with_downsample:
                shortcut = self.downsample(shortcut)
        return out + shortcut


class SNGANDiscHeadResBlock(nn.Module):
    """The discriminator's first block: conv_1, act, conv_2, pool; shortcut pool then 1×1 conv."""

    def __init__(self, in_channels: int, out_channels: int, conv_cfg: dict | None = None,
                 act_cfg: dict = dict(type="ReLU"), with_spectral_norm: bool = True, sn_eps: float = 1e-12,
                 sn_style: str = "torch", init_cfg: dict = dict(type="BigGAN")) -> None:
        super().__init__()
        who = "SNGANDiscHeadResBlock"
        self.activate = build_activation(act_cfg, who)
        conv = _conv_cfg(conv_cfg, who)
        sn = sn_conv_args(with_spectral_norm, sn_eps, sn_style, who)
        self.conv_1 = SNConvModule(in_channels, out_channels, **sn, **conv)
        self.conv_2 = SNConvModule(out_channels, out_channels, **sn, **conv)
        self.downsample = nn.AvgPool2d(2, 2)
        self.shortcut = SNConvModule(in_channels, out_channels, kernel_size=1, stride=1, padding=0, act_cfg=None, **sn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.downsample(self.conv_2(self.activate(self.conv_1(x))))
        return out + self.shortcut(self.downsample(x))


BLOCKS = {"SNGANGenResBlock": SNGANGenResBlock, "SNGANDiscResBlock": SNGANDiscResBlock,
          "SNGANDiscHeadResBlock": SNGANDiscHeadResBlock}


def build_block(cfg: Any, expected: str, who: str, **defaults: Any) -> nn.Module:
    """A block from MMagic's ``blocks_cfg``-style dict (only MMagic's block type for that place)."""
    if not isinstance(cfg, dict) or cfg.get("type", expected) != expected:
        raise ConfigError(f"{who}: the block config must be dict(type={expected!r}, ...), got {cfg!r}")
    kwargs = {**defaults, **{k: v for k, v in cfg.items() if k != "type"}}
    try:
        return BLOCKS[expected](**kwargs)
    except TypeError as error:
        raise ConfigError(f"{who}: {expected}: {error}") from None


__all__ = ["BLOCKS", "SNConditionNorm", "SNGANDiscHeadResBlock", "SNGANDiscResBlock", "SNGANGenResBlock",
           "build_activation", "build_block", "init_type_of"]
