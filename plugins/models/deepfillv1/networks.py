"""DeepFill v1 (Yu et al. 2018, "Generative Image Inpainting with Contextual Attention") networks with
MMagic's names, arguments and state-dict keys: ``DeepFillEncoder`` (6 convolutions to 1/4 size; channel
lists per ``encoder_type``, scaled by ``channel_factor``), ``DeepFillDecoder`` (7 convolutions with two
nearest ×2 upsamplings, output clipped to [-1, 1] or another activation), ``ContextualAttentionNeck``
(contextual attention of the features on themselves, then two convolutions), ``DeepFillRefiner`` (the
second stage: a dilated-convolution branch and a contextual-attention branch, concatenated and decoded)
and ``DeepFillv1Discriminators`` (a global and a local MultiLayerDiscriminator). ``conv_type='gated_conv'``
gives DeepFill v2's gated convolutions."""
from __future__ import annotations

from functools import partial
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError

from ..global_local.networks import build_part, conv_block
from ..ops.contextual_attention import ContextualAttentionModule
from ..ops.conv_module import _activation
from ..ops.multi_layer_disc import MultiLayerDiscriminator

ENCODER_CHANNELS = {"stage1": [32, 64, 64, 128, 128, 128], "stage2_conv": [32, 32, 64, 64, 128, 128],
                    "stage2_attention": [32, 32, 64, 128, 128, 128]}


def _without_none_conv_cfg(kwargs: dict, who: str) -> dict:
    conv_cfg = kwargs.pop("conv_cfg", None)
    if conv_cfg is not None and conv_cfg.get("type", "Conv2d") not in ("Conv", "Conv2d"):
        raise ConfigError(f"{who}: conv_cfg {conv_cfg!r}: only plain convolutions (conv_type picks gated ones)")
    return kwargs


class DeepFillEncoder(nn.Module):
    """enc1..enc6: kernels 5, 3, …; strides 1, 2, 1, 2, 1, 1; returns ``dict(out=features)``."""

    def __init__(self, in_channels: int = 5, conv_type: str = "conv", norm_cfg: dict | None = None,
                 act_cfg: dict | None = dict(type="ELU"), encoder_type: str = "stage1", channel_factor: float = 1.0,
                 **kwargs: Any) -> None:
        super().__init__()
        who = "DeepFillEncoder"
        if encoder_type not in ENCODER_CHANNELS:
            raise ConfigError(f"{who}: encoder_type must be one of {sorted(ENCODER_CHANNELS)}, got {encoder_type!r}")
        kwargs = _without_none_conv_cfg(kwargs, who)
        channels = [int(c * channel_factor) for c in ENCODER_CHANNELS[encoder_type]]
        for index, (out, kernel, stride) in enumerate(zip(channels, (5, 3, 3, 3, 3, 3), (1, 2, 1, 2, 1, 1))):
            self.add_module(f"enc{index + 1}", conv_block(conv_type, in_channels, out, kernel, who, stride=stride,
                                                          padding=(kernel - 1) // 2, norm_cfg=norm_cfg,
                                                          act_cfg=act_cfg, **kwargs))
            in_channels = out

    def forward(self, x: torch.Tensor) -> dict:
        for index in range(6):
            x = getattr(self, f"enc{index + 1}")(x)
        return dict(out=x)


class DeepFillDecoder(nn.Module):
    """dec1..dec7 (3×3), ×2 nearest upsampling after dec2 and dec4, 3 output channels; ``out_act_cfg``:
    ``dict(type='clip', min, max)`` or an activation."""

    def __init__(self, in_channels: int, conv_type: str = "conv", norm_cfg: dict | None = None,
                 act_cfg: dict | None = dict(type="ELU"), out_act_cfg: dict | None = dict(type="clip", min=-1.0, max=1.0),
                 channel_factor: float = 1.0, **kwargs: Any) -> None:
        super().__init__()
        who = "DeepFillDecoder"
        kwargs = _without_none_conv_cfg(kwargs, who)
        channels = [int(c * channel_factor) for c in (128, 128, 64, 64, 32, 16)] + [3]
        for index, out in enumerate(channels):
            last = index == 6
            extra = dict(kwargs, feat_act_cfg=None) if last and conv_type == "gated_conv" else kwargs
            self.add_module(f"dec{index + 1}", conv_block(conv_type, in_channels, out, 3, who, padding=1,
                                                          norm_cfg=norm_cfg, act_cfg=None if last else act_cfg, **extra))
            in_channels = out
        self.out_act = None
        if out_act_cfg is not None and out_act_cfg.get("type") == "clip":
            bounds = {key: value for key, value in out_act_cfg.items() if key != "type"}
            self.out_act = partial(torch.clamp, **bounds)
        elif out_act_cfg is not None:
            self.out_act = _activation(out_act_cfg, who)

    def forward(self, input_dict: Any) -> torch.Tensor:
        x = input_dict["out"] if isinstance(input_dict, dict) else input_dict
        for index in range(7):
            x = getattr(self, f"dec{index + 1}")(x)
            if index in (1, 3):
                x = F.interpolate(x, scale_factor=2)
        return self.out_act(x) if self.out_act is not None else x


class ContextualAttentionNeck(nn.Module):
    """Contextual attention of the features on themselves (the hole masked), then conv1, conv2;
    returns (features, attention)."""

    def __init__(self, in_channels: int, conv_type: str = "conv", conv_cfg: dict | None = None,
                 norm_cfg: dict | None = None, act_cfg: dict | None = dict(type="ELU"),
                 contextual_attention_args: dict = dict(softmax_scale=10.0), **kwargs: Any) -> None:
        super().__init__()
        who = "ContextualAttentionNeck"
        kwargs = _without_none_conv_cfg(dict(kwargs, conv_cfg=conv_cfg), who)
        self.contextual_attention = ContextualAttentionModule(**contextual_attention_args)
        for name in ("conv1", "conv2"):
            setattr(self, name, conv_block(conv_type, in_channels, in_channels, 3, who, padding=1, norm_cfg=norm_cfg,
                                           act_cfg=act_cfg, **kwargs))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, attention = self.contextual_attention(x, x, mask)
        return self.conv2(self.conv1(x)), attention


class DeepFillRefiner(nn.Module):
    """The second stage: ``decoder(cat(dilation_neck(encoder_conv(x)), attention_neck(encoder_attention(x))))``."""

    def __init__(self, encoder_attention: dict = dict(type="DeepFillEncoder", encoder_type="stage2_attention"),
                 encoder_conv: dict = dict(type="DeepFillEncoder", encoder_type="stage2_conv"),
                 dilation_neck: dict = dict(type="GLDilationNeck", in_channels=128, act_cfg=dict(type="ELU")),
                 contextual_attention: dict = dict(type="ContextualAttentionNeck", in_channels=128),
                 decoder: dict = dict(type="DeepFillDecoder", in_channels=256)) -> None:
        super().__init__()
        owner = "DeepFillRefiner"
        self.encoder_attention = build_part(encoder_attention, None, owner, "encoder_attention")
        self.encoder_conv = build_part(encoder_conv, None, owner, "encoder_conv")
        self.contextual_attention_neck = build_part(contextual_attention, None, owner, "contextual_attention")
        self.dilation_neck = build_part(dilation_neck, None, owner, "dilation_neck")
        self.decoder = build_part(decoder, None, owner, "decoder")

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        conv_x = self.dilation_neck(self.encoder_conv(x)["out"])
        attention_x = self.encoder_attention(x)["out"]
        small_mask = F.interpolate(mask, size=attention_x.shape[-2:])
        attention_x, attention = self.contextual_attention_neck(attention_x, small_mask)
        return self.decoder(dict(out=torch.cat([conv_x, attention_x], dim=1))), attention


def normal_init_convs(module: nn.Module, std: float = 0.02) -> None:
    """MMagic's DeepFill init: conv (and linear) weights N(0, std), biases 0; norm scales 1."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            weight = getattr(layer, "weight_orig", layer.weight)  # spectral norm keeps the raw weight there
            nn.init.normal_(weight, 0.0, std)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, (nn.BatchNorm2d, nn.InstanceNorm2d)) and layer.weight is not None:
            nn.init.ones_(layer.weight)
            nn.init.zeros_(layer.bias)


class DeepFillv1Discriminators(nn.Module):
    """(global_disc(image), local_disc(patch)), each a MultiLayerDiscriminator config."""

    def __init__(self, global_disc_cfg: dict, local_disc_cfg: dict) -> None:
        super().__init__()
        for name, cfg in (("global_disc", global_disc_cfg), ("local_disc", local_disc_cfg)):
            cfg = dict(cfg)
            if cfg.pop("type", "MultiLayerDiscriminator") != "MultiLayerDiscriminator":
                raise ConfigError(f"DeepFillv1Discriminators: {name}_cfg must be a MultiLayerDiscriminator")
            try:
                setattr(self, name, MultiLayerDiscriminator(**cfg))
            except TypeError as error:
                raise ConfigError(f"DeepFillv1Discriminators.{name}_cfg: {error}") from None
        normal_init_convs(self)

    def forward(self, x: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        global_image, local_patch = x
        return self.global_disc(global_image), self.local_disc(local_patch)


__all__ = ["ContextualAttentionNeck", "DeepFillDecoder", "DeepFillEncoder", "DeepFillRefiner",
           "DeepFillv1Discriminators", "normal_init_convs"]
