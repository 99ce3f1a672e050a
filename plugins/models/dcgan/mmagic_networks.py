"""MMagic 1.2.0's ``DCGANGenerator`` and ``DCGANDiscriminator``: its names, arguments and layout.

Each layer is a conv (transposed in the generator) followed by an optional norm
and activation, held as ``conv`` / ``bn`` (or ``in``) / ``activate`` attributes as
MMCV's ``ConvModule`` names them, so MMagic's state-dict keys
(``generator.noise2feat.conv.weight``, ``discriminator.downsamples.1.bn.running_mean``,
…) are mgx's too. As in ``ConvModule``, a conv has a bias only when no norm follows it.

Initialisation is what MMagic's ``init_weights`` does: conv weights N(0, 0.02),
biases 0, norm scales N(0, 1) (its docstring says unit mean; its code draws
``nn.init.normal_`` with the defaults), norm shifts 0.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from mgx.core.errors import ConfigError

# MMCV norm type -> (torch class, ConvModule's attribute name)
_NORMS = {"BN": (nn.BatchNorm2d, "bn"), "BN2d": (nn.BatchNorm2d, "bn"), "SyncBN": (nn.BatchNorm2d, "bn"),
          "IN": (nn.InstanceNorm2d, "in"), "IN2d": (nn.InstanceNorm2d, "in")}
_ACTIVATIONS = {"ReLU": nn.ReLU, "LeakyReLU": nn.LeakyReLU, "Tanh": nn.Tanh, "Sigmoid": nn.Sigmoid,
                "ELU": nn.ELU, "GELU": nn.GELU, "SiLU": nn.SiLU, "Swish": nn.SiLU}
# ConvModule makes these activations in-place; the others take no `inplace`
_INPLACE = {"ReLU", "LeakyReLU", "ELU", "SiLU"}


def _layer_cfg(cfg: Any, table: dict, what: str, who: str) -> tuple[str, dict] | None:
    if cfg is None:
        return None
    if not isinstance(cfg, dict) or cfg.get("type") not in table:
        raise ConfigError(f"{who}: {what} must be None or dict(type=...) with type one of "
                          f"{', '.join(table)}, got {cfg!r}")
    kwargs = {key: value for key, value in cfg.items() if key != "type"}
    kwargs.pop("requires_grad", None)  # MMCV's norm flag; every mgx parameter trains
    return cfg["type"], kwargs


class ConvLayer(nn.Module):
    """conv -> [norm] -> [activation], attribute names as MMCV's ConvModule."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, padding: int, *, transposed: bool,
                 norm_cfg: Any, act_cfg: Any, who: str) -> None:
        super().__init__()
        norm = _layer_cfg(norm_cfg, _NORMS, "norm_cfg", who)
        act = _layer_cfg(act_cfg, _ACTIVATIONS, "act_cfg", who)
        conv = nn.ConvTranspose2d if transposed else nn.Conv2d
        self.conv = conv(in_channels, out_channels, 4, stride, padding, bias=norm is None)
        self.norm_name = None
        if norm is not None:
            norm_class, self.norm_name = _NORMS[norm[0]][0], _NORMS[norm[0]][1]
            try:
                self.add_module(self.norm_name, norm_class(out_channels, **norm[1]))
            except TypeError as error:
                raise ConfigError(f"{who}: norm_cfg {norm_cfg!r}: {error}") from None
        self.activate = None
        if act is not None:
            kwargs = dict(act[1])
            if act[0] in _INPLACE:
                kwargs.setdefault("inplace", True)
            try:
                self.activate = _ACTIVATIONS[act[0]](**kwargs)
            except TypeError as error:
                raise ConfigError(f"{who}: act_cfg {act_cfg!r}: {error}") from None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.norm_name is not None:
            x = getattr(self, self.norm_name)(x)
        return self.activate(x) if self.activate is not None else x


def _positive_int(value: Any, name: str, who: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{who}: {name} must be a positive int, got {value!r}")
    return value


def _doublings(large: Any, small: Any, names: tuple[str, str], who: str) -> int:
    """How many ×2 steps lead from ``small`` to ``large`` (both ints, ratio a power of two ≥ 2)."""
    _positive_int(large, names[0], who)
    _positive_int(small, names[1], who)
    ratio = large // small
    if large % small or ratio < 2 or ratio & (ratio - 1):
        raise ConfigError(f"{who}: {names[0]}={large} / {names[1]}={small} must be a power of two ≥ 2 "
                          f"(e.g. {names[0]}=64 with {names[1]}=4)")
    return int(math.log2(ratio))


def init_mmagic_dcgan(module: nn.Module) -> None:
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(layer.weight, 0.0, 0.02)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, (nn.BatchNorm2d, nn.InstanceNorm2d)) and layer.weight is not None:
            nn.init.normal_(layer.weight)
            nn.init.zeros_(layer.bias)


class DCGANGenerator(nn.Module):
    """noise (N×noise_size or N×noise_size×1×1) -> N×out_channels×output_scale×output_scale.

    A 4×4 transposed conv makes an ``input_scale``×``input_scale`` feature map with
    ``base_channels`` channels; each of the following ×2 up-sampling layers halves
    the channels; the last one maps to ``out_channels`` without a norm and with
    ``out_act_cfg`` (Tanh: images in [-1, 1]).
    """

    def __init__(self, output_scale: int, out_channels: int = 3, base_channels: int = 1024, input_scale: int = 4,
                 noise_size: int = 100, default_norm_cfg: dict | None = dict(type="BN"),
                 default_act_cfg: dict | None = dict(type="ReLU"), out_act_cfg: dict | None = dict(type="Tanh"),
                 init_cfg: dict | None = None) -> None:
        super().__init__()
        who = "DCGANGenerator"
        if init_cfg is not None:
            raise ConfigError(f"{who}: init_cfg is not supported; load MMagic weights with load_from")
        if input_scale != 4:
            # the first layer is a 4×4 transposed conv on a 1×1 noise map, so its output is 4×4 whatever
            # input_scale says (MMagic would build a generator whose images are not output_scale)
            raise ConfigError(f"{who}: input_scale must be 4 (the noise becomes a 4×4 map), got {input_scale!r}")
        num_upsamples = _doublings(output_scale, input_scale, ("output_scale", "input_scale"), who)
        for name, value in (("out_channels", out_channels), ("base_channels", base_channels),
                            ("noise_size", noise_size)):
            _positive_int(value, name, who)
        if base_channels % 2 ** (num_upsamples - 1):
            raise ConfigError(f"{who}: base_channels={base_channels} is halved {num_upsamples - 1} time(s) for "
                              f"output_scale={output_scale}; use a multiple of {2 ** (num_upsamples - 1)}")
        self.output_scale, self.input_scale = output_scale, input_scale
        self.base_channels, self.noise_size, self.out_channels = base_channels, noise_size, out_channels
        layer = dict(transposed=True, norm_cfg=default_norm_cfg, act_cfg=default_act_cfg, who=who)
        self.noise2feat = ConvLayer(noise_size, base_channels, 1, 0, **layer)
        channels, upsampling = base_channels, []
        for _ in range(num_upsamples - 1):
            upsampling.append(ConvLayer(channels, channels // 2, 2, 1, **layer))
            channels //= 2
        self.upsampling = nn.Sequential(*upsampling)
        self.output_layer = ConvLayer(channels, out_channels, 2, 1, transposed=True, norm_cfg=None,
                                      act_cfg=out_act_cfg, who=who)
        init_mmagic_dcgan(self)

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        if noise.dim() == 2:
            noise = noise[:, :, None, None]
        if noise.dim() != 4 or noise.shape[1] != self.noise_size or noise.shape[2:] != (1, 1):
            raise ValueError(f"DCGANGenerator: noise must be N×{self.noise_size} or N×{self.noise_size}×1×1, "
                             f"got {tuple(noise.shape)}")
        return self.output_layer(self.upsampling(self.noise2feat(noise)))


class DCGANDiscriminator(nn.Module):
    """N×in_channels×input_scale×input_scale -> N×(out_channels·(output_scale-3)²) logits.

    Stride-2 4×4 convs halve the size down to ``output_scale`` (the first without a
    norm) while the channels go ``base_channels``, ×2, ×4, …; a 4×4 valid conv then
    maps to ``out_channels`` (``output_scale=4``: one value per channel).
    """

    def __init__(self, input_scale: int, output_scale: int, out_channels: int, in_channels: int = 3,
                 base_channels: int = 128, default_norm_cfg: dict | None = dict(type="BN"),
                 default_act_cfg: dict | None = dict(type="LeakyReLU"), out_act_cfg: dict | None = None,
                 init_cfg: dict | None = None) -> None:
        super().__init__()
        who = "DCGANDiscriminator"
        if init_cfg is not None:
            raise ConfigError(f"{who}: init_cfg is not supported; load MMagic weights with load_from")
        num_downsamples = _doublings(input_scale, output_scale, ("input_scale", "output_scale"), who)
        if output_scale < 4:
            raise ConfigError(f"{who}: output_scale must be ≥ 4 (the output layer is a 4×4 valid conv), "
                              f"got {output_scale}")
        for name, value in (("out_channels", out_channels), ("in_channels", in_channels),
                            ("base_channels", base_channels)):
            _positive_int(value, name, who)
        self.input_scale, self.output_scale = input_scale, output_scale
        self.in_channels, self.out_channels, self.base_channels = in_channels, out_channels, base_channels
        downsamples, channels = [], in_channels
        for index in range(num_downsamples):
            downsamples.append(ConvLayer(channels, base_channels * 2 ** index, 2, 1, transposed=False,
                                         norm_cfg=None if index == 0 else default_norm_cfg,
                                         act_cfg=default_act_cfg, who=who))
            channels = base_channels * 2 ** index
        self.downsamples = nn.Sequential(*downsamples)
        self.output_layer = ConvLayer(channels, out_channels, 1, 0, transposed=False, norm_cfg=None,
                                      act_cfg=out_act_cfg, who=who)
        init_mmagic_dcgan(self)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.dim() != 4 or images.shape[1:] != (self.in_channels, self.input_scale, self.input_scale):
            raise ValueError(f"DCGANDiscriminator: images must be N×{self.in_channels}×{self.input_scale}×"
                             f"{self.input_scale}, got {tuple(images.shape)}")
        return self.output_layer(self.downsamples(images)).reshape(images.shape[0], -1)


__all__ = ["DCGANDiscriminator", "DCGANGenerator", "ConvLayer"]
