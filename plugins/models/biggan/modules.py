"""BigGAN's blocks as MMagic 1.2.0 builds them (``BigGANConditionBN``, ``BigGANGenResBlock``,
``BigGANDiscResBlock``, ``BigGANDeepGenResBlock``, ``BigGANDeepDiscResBlock``): attribute names and
state-dict keys are MMagic's; spectral norm is ``ops/spectral_norm.py`` in ``sn_style`` with ``sn_eps``.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from mgx.core.errors import ConfigError

from ..ops.spectral_norm import SNConvModule, raw_weight, sn_conv_args, sn_linear
from ..sagan.modules import build_activation

INIT_TYPES = ("ortho", "N02", "xavier")


def _upsample(upsample_cfg: Any, who: str) -> nn.Module | None:
    if upsample_cfg is None:
        return None
    cfg = dict(upsample_cfg)
    mode = cfg.pop("type", "nearest")
    if mode not in ("nearest", "bilinear"):
        raise ConfigError(f"{who}: upsample_cfg.type must be 'nearest' or 'bilinear', got {mode!r}")
    return nn.Upsample(mode=mode, **cfg)


def block_kwargs(blocks_cfg: Any, expected: str, who: str, **fixed: Any) -> dict:
    """The arguments of a network's blocks: ``blocks_cfg`` (MMagic's only block ``type`` for that place) with
    the values the network fixes (MMagic's ``blocks_cfg.update(...)``: they win)."""
    if not isinstance(blocks_cfg, dict) or blocks_cfg.get("type", expected) != expected:
        raise ConfigError(f"{who}: blocks_cfg must be dict(type={expected!r}, ...), got {blocks_cfg!r}")
    return {**{k: v for k, v in blocks_cfg.items() if k != "type"}, **fixed}


def init_biggan(network: nn.Module, init_type: str, who: str) -> None:
    """MMagic's BigGAN init of every Conv2d / Linear / Embedding: ``'ortho'`` (orthogonal weights),
    ``'N02'`` (N(0, 0.02), zero biases) or ``'xavier'`` (Xavier-normal, zero biases)."""
    if init_type not in INIT_TYPES:
        raise ConfigError(f"{who}: init type must be one of {INIT_TYPES} (load pretrained weights with load_from), "
                          f"got {init_type!r}")
    for module in network.modules():
        if not isinstance(module, (nn.Conv2d, nn.Linear, nn.Embedding)):
            continue
        weight = raw_weight(module)
        if init_type == "ortho":
            nn.init.orthogonal_(weight)
            continue
        if init_type == "N02":
            nn.init.normal_(weight, 0.0, 0.02)
        else:
            nn.init.xavier_normal_(weight)
        if getattr(module, "bias", None) is not None:
            nn.init.zeros_(module.bias)


def _sn_conv(in_channels: int, out_channels: int, kernel_size: int, sn: dict, **kwargs: Any) -> SNConvModule:
    return SNConvModule(in_channels, out_channels, kernel_size=kernel_size, stride=1, padding=kernel_size // 2,
                        **{"act_cfg": None, **kwargs}, **sn)


class BigGANConditionBN(nn.Module):
    """BatchNorm without affine parameters, scaled by ``1 + gain(y)`` and shifted by ``bias(y)``: bias-free
    Linear maps of the conditioning vector y (spectrally normalised), or embeddings of the label when
    ``input_is_label``. With ``linear_input_channels`` 0 (unconditional) an affine BatchNorm."""

    def __init__(self, num_features: int, linear_input_channels: int, bn_eps: float = 1e-5, sn_eps: float = 1e-6,
                 sn_style: str = "ajbrock", momentum: float = 0.1, input_is_label: bool = False,
                 with_spectral_norm: bool = True, auto_sync_bn: bool = True) -> None:
        super().__init__()
        self.use_cbn = linear_input_channels > 0
        if self.use_cbn and input_is_label:
            self.gain = nn.Embedding(linear_input_channels, num_features)
            self.bias = nn.Embedding(linear_input_channels, num_features)
        elif self.use_cbn:
            sn = dict(with_spectral_norm=with_spectral_norm, sn_style=sn_style, eps=sn_eps, bias=False)
            self.gain = sn_linear(linear_input_channels, num_features, **sn)
            self.bias = sn_linear(linear_input_channels, num_features, **sn)
        self.bn = nn.BatchNorm2d(num_features, eps=bn_eps, momentum=momentum, affine=not self.use_cbn)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        out = self.bn(x)
        if self.use_cbn:
            out = out * (1.0 + self.gain(y)).reshape(y.shape[0], -1, 1, 1) + self.bias(y).reshape(y.shape[0], -1, 1, 1)
        return out


class BigGANGenResBlock(nn.Module):
    """bn1(x, y), act, upsample, conv1 (3×3), bn2, act, conv2; shortcut: upsample, 1×1 conv when needed."""

    def __init__(self, in_channels: int, out_channels: int, dim_after_concat: int, act_cfg: dict = dict(type="ReLU"),
                 upsample_cfg: dict | None = dict(type="nearest", scale_factor=2), sn_eps: float = 1e-6,
                 sn_style: str = "ajbrock", with_spectral_norm: bool = True, input_is_label: bool = False,
                 auto_sync_bn: bool = True) -> None:
        super().__init__()
        who = "BigGANGenResBlock"
        self.activation = build_activation(act_cfg, who)
        self.upsample_layer = _upsample(upsample_cfg, who)
        self.with_upsample = self.upsample_layer is not None
        self.learnable_sc = in_channels != out_channels or self.with_upsample
        sn = sn_conv_args(with_spectral_norm, sn_eps, sn_style, who)
        if self.learnable_sc:
            self.shortcut = _sn_conv(in_channels, out_channels, 1, sn)
        norm = dict(sn_eps=sn_eps, sn_style=sn_style, input_is_label=input_is_label,
                    with_spectral_norm=with_spectral_norm)
        self.bn1 = BigGANConditionBN(in_channels, dim_after_concat, **norm)
        self.bn2 = BigGANConditionBN(out_channels, dim_after_concat, **norm)
        self.conv1 = _sn_conv(in_channels, out_channels, 3, sn)
        self.conv2 = _sn_conv(out_channels, out_channels, 3, sn)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        out = self.activation(self.bn1(x, y))
        if self.with_upsample:
            out, x = self.upsample_layer(out), self.upsample_layer(x)
        out = self.conv2(self.activation(self.bn2(self.conv1(out), y)))
        return out + (self.shortcut(x) if self.learnable_sc else x)


class BigGANDiscResBlock(nn.Module):
    """(act unless the head block), conv1, act, conv2, (pool); shortcut: the head block pools before
    its 1×1 conv, the others after it."""

    def __init__(self, in_channels: int, out_channels: int, act_cfg: dict = dict(type="ReLU", inplace=False),
                 sn_eps: float = 1e-6, sn_style: str = "ajbrock", with_downsample: bool = True,
                 with_spectral_norm: bool = True, is_head_block: bool = False) -> None:
        super().__init__()
        who = "BigGANDiscResBlock"
        self.activation = build_activation(act_cfg, who)
        self.with_downsample, self.is_head_block = with_downsample, is_head_block
        if with_downsample:
            self.downsample = nn.AvgPool2d(kernel_size=2, stride=2)
        self.learnable_sc = in_channels != out_channels or with_downsample
        sn = sn_conv_args(with_spectral_norm, sn_eps, sn_style, who)
        if self.learnable_sc:
            self.shortcut = _sn_conv(in_channels, out_channels, 1, sn)
        self.conv1 = _sn_conv(in_channels, out_channels, 3, sn)
        self.conv2 = _sn_conv(out_channels, out_channels, 3, sn)

    def _shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.is_head_block and self.with_downsample:
            x = self.downsample(x)
        if self.learnable_sc:
            x = self.shortcut(x)
        if not self.is_head_block and self.with_downsample:
            x = self.downsample(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x if self.is_head_block else self.activation(x)  # in place when act_cfg says so, as in MMagic
        out = self.conv2(self.activation(self.conv1(out)))
        if self.with_downsample:
            out = self.downsample(out)
        return out + self._shortcut(x)


class BigGANDeepGenResBlock(nn.Module):
    """Bottleneck: bn1, act, 1×1 conv1 to in/channel_ratio, bn2, act, (upsample), 3×3 conv2, bn3, act, 3×3
    conv3, bn4, act, 1×1 conv4; shortcut: the first ``out_channels`` channels, upsampled."""

    def __init__(self, in_channels: int, out_channels: int, dim_after_concat: int, act_cfg: dict = dict(type="ReLU"),
                 upsample_cfg: dict | None = dict(type="nearest", scale_factor=2), sn_eps: float = 1e-6,
                 sn_style: str = "ajbrock", bn_eps: float = 1e-5, with_spectral_norm: bool = True,
                 input_is_label: bool = False, auto_sync_bn: bool = True, channel_ratio: int = 4) -> None:
        super().__init__()
        who = "BigGANDeepGenResBlock"
        self.in_channels, self.out_channels = in_channels, out_channels
        self.hidden_channels = hidden = in_channels // channel_ratio
        self.activation = build_activation(act_cfg, who)
        self.upsample_layer = _upsample(upsample_cfg, who)
        self.with_upsample = self.upsample_layer is not None
        norm = dict(sn_eps=sn_eps, sn_style=sn_style, bn_eps=bn_eps, input_is_label=input_is_label,
                    with_spectral_norm=with_spectral_norm)
        self.bn1 = BigGANConditionBN(in_channels, dim_after_concat, **norm)
        self.bn2 = BigGANConditionBN(hidden, dim_after_concat, **norm)
        self.bn3 = BigGANConditionBN(hidden, dim_after_concat, **norm)
        self.bn4 = BigGANConditionBN(hidden, dim_after_concat, **norm)
        sn = sn_conv_args(with_spectral_norm, sn_eps, sn_style, who)
        self.conv1 = _sn_conv(in_channels, hidden, 1, sn)
        self.conv2 = _sn_conv(hidden, hidden, 3, sn)
        self.conv3 = _sn_conv(hidden, hidden, 3, sn)
        self.conv4 = _sn_conv(hidden, out_channels, 1, sn)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        out = self.activation(self.bn2(self.conv1(self.activation(self.bn1(x, y))), y))
        if self.in_channels != self.out_channels:
            x = x[:, :self.out_channels]
        if self.with_upsample:
            out, x = self.upsample_layer(out), self.upsample_layer(x)
        out = self.activation(self.bn3(self.conv2(out), y))
        out = self.conv4(self.activation(self.bn4(self.conv3(out), y)))
        return out + x


class BigGANDeepDiscResBlock(nn.Module):
    """Bottleneck: (act, 1×1 conv1), (act, 3×3 conv2), (act, 3×3 conv3), act, (pool), 1×1 conv4; shortcut:
    (pool), then the input concatenated with a 1×1 conv to the missing ``out - in`` channels."""

    def __init__(self, in_channels: int, out_channels: int, channel_ratio: int = 4,
                 act_cfg: dict = dict(type="ReLU", inplace=False), sn_eps: float = 1e-6, sn_style: str = "ajbrock",
                 with_downsample: bool = True, with_spectral_norm: bool = True) -> None:
        super().__init__()
        who = "BigGANDeepDiscResBlock"
        self.in_channels, self.out_channels = in_channels, out_channels
        self.hidden_channels = hidden = out_channels // channel_ratio
        self.activation = build_activation(act_cfg, who)
        self.with_downsample = with_downsample
        if with_downsample:
            self.downsample = nn.AvgPool2d(kernel_size=2, stride=2)
        self.learnable_sc = in_channels != out_channels
        sn = sn_conv_args(with_spectral_norm, sn_eps, sn_style, who)
        if self.learnable_sc:
            self.shortcut = _sn_conv(in_channels, out_channels - in_channels, 1, sn)
        pre_act = dict(act_cfg=act_cfg, order=("act", "conv", "norm"))
        self.conv1 = _sn_conv(in_channels, hidden, 1, sn, **pre_act)
        self.conv2 = _sn_conv(hidden, hidden, 3, sn, **pre_act)
        self.conv3 = _sn_conv(hidden, hidden, 3, sn, **pre_act)
        self.conv4 = _sn_conv(hidden, out_channels, 1, sn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.activation(self.conv3(self.conv2(self.conv1(x))))
        if self.with_downsample:
            out = self.downsample(out)
        out = self.conv4(out)
        if self.with_downsample:
            x = self.downsample(x)
        if self.learnable_sc:
            x = torch.cat([x, self.shortcut(x)], dim=1)
        return out + x


__all__ = ["BigGANConditionBN", "BigGANDeepDiscResBlock", "BigGANDeepGenResBlock", "BigGANDiscResBlock",
           "BigGANGenResBlock", "INIT_TYPES", "block_kwargs", "init_biggan"]
