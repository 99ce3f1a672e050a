"""StyleGAN2's residual discriminator with minibatch standard deviation.

Arguments follow MMagic 1.2.0's ``StyleGAN2Discriminator``; ``channel_max`` as in
the generator.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from mgx.core.errors import ConfigError

from .checkpoint import network_weights
from .generator import channels_at, check_size
from .modules import ConvLayer, EqualLinear, MiniBatchStddev, ResBlock


class StyleGAN2Discriminator(nn.Module):
    def __init__(self, in_size: int, img_channels: int = 3, channel_multiplier: int = 2,
                 blur_kernel: Sequence[int] = (1, 3, 3, 1), mbstd_cfg: dict | None = None, channel_max: int = 512,
                 input_bgr2rgb: bool = False, cond_size: int | None = None, num_fp16_scales: int = 0,
                 fp16_enabled: bool = False, out_fp32: bool = True, convert_input_fp32: bool = True,
                 init_cfg=None, pretrained: dict | None = None) -> None:
        super().__init__()
        who = "StyleGAN2Discriminator"
        if cond_size:
            raise ConfigError(f"{who}: conditional discrimination (cond_size={cond_size!r}) is not supported")
        if pretrained is not None:
            raise ConfigError(f"{who}: pretrained= is not supported; use load_from= with an MMagic checkpoint")
        log_size = check_size(in_size, "in_size", who)
        mbstd = dict(group_size=4, channel_groups=1)
        mbstd.update(mbstd_cfg or {})
        unknown = sorted(set(mbstd) - {"group_size", "channel_groups", "eps"})
        if unknown:
            raise ConfigError(f"{who}: unknown mbstd_cfg key(s) {unknown} (sync_std is not supported)")
        width = {2 ** r: channels_at(2 ** r, channel_multiplier, channel_max) for r in range(2, log_size + 1)}
        if width[4] % mbstd["channel_groups"]:
            raise ConfigError(f"{who}: mbstd_cfg.channel_groups={mbstd['channel_groups']} must divide the "
                              f"{width[4]} channels at 4×4")
        self.in_size, self.input_bgr2rgb = in_size, input_bgr2rgb
        blocks: list[nn.Module] = [ConvLayer(img_channels, width[in_size], 1)]
        in_width = width[in_size]
        for res in range(log_size, 2, -1):
            out_width = width[2 ** (res - 1)]
            blocks.append(ResBlock(in_width, out_width, blur_kernel))
            in_width = out_width
        self.convs = nn.Sequential(*blocks)
        self.mbstd_layer = MiniBatchStddev(**mbstd)
        self.final_conv = ConvLayer(in_width + mbstd["channel_groups"], width[4], 3)
        self.final_linear = nn.Sequential(EqualLinear(width[4] * 16, width[4], activate=True),
                                          EqualLinear(width[4], 1))

    def adapt_loaded_weights(self, weights: dict) -> dict:
        """Its state dict in MMagic's layout (``weight_orig``, FIR kernels, ``nn.Sequential`` conv layers) or
        mgx's -> mgx's (``load_from`` of a model holding it, e.g. GLEAN's SRGAN)."""
        return network_weights(weights, "discriminator")

    def load_pretrained_weights(self, weights: dict) -> None:
        """``init_cfg=dict(type='Pretrained', prefix='discriminator')`` of a StyleGAN2 checkpoint, either layout."""
        self.load_state_dict(self.adapt_loaded_weights(weights))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """N×C×S×S images in [-1, 1] -> N×1 logits."""
        if self.input_bgr2rgb:
            x = x.flip(1)
        x = self.mbstd_layer(self.convs(x))
        return self.final_linear(self.final_conv(x).flatten(1))
