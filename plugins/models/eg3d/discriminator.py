"""``DualDiscriminator`` (alias ``EG3DDiscriminator``): MMagic 1.2.0's EG3D discriminator.

StyleGAN2's residual discriminator reading the super-resolved image and the rendered low-resolution
image (up-sampled to the same side, antialiased bilinear) as one ``2 × img_channels`` input
(``use_dual_disc``), and, with ``cond_size``, conditioned on the camera by projection: a StyleGAN3
mapping network of the camera alone (``cond_mapping_layers`` layers, default 8, to
``cond_mapping_channels``, default 512) gives ``cmap``; the score is ``Σ x · cmap / √dim`` with the last
linear layer ``cond_mapping_channels`` wide. ``disc_c_noise`` adds ``N(0, (std(cond)·disc_c_noise)²)``
to the camera first. MMagic trains no EG3D (its configs are conversions of the official weights); this
network is here so that configs and checkpoints naming it build and load.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch.nn import functional as F

from ..stylegan2.discriminator import StyleGAN2Discriminator
from ..stylegan2.modules import EqualLinear
from ..stylegan3.modules import MappingNetwork


class DualDiscriminator(StyleGAN2Discriminator):
    def __init__(self, img_channels: int = 3, use_dual_disc: bool = True, disc_c_noise: float = 0, *,
                 in_size: int, cond_size: int | None = None, cond_mapping_channels: int | None = None,
                 cond_mapping_layers: int | None = None, channel_multiplier: int = 2,
                 blur_kernel: Sequence[int] = (1, 3, 3, 1), mbstd_cfg: dict | None = None, channel_max: int = 512,
                 input_bgr2rgb: bool = False, num_fp16_scales: int = 0, fp16_enabled: bool = False,
                 out_fp32: bool = True, convert_input_fp32: bool = True, init_cfg=None,
                 pretrained: dict | None = None) -> None:
        super().__init__(in_size, img_channels=img_channels * (2 if use_dual_disc else 1),
                         channel_multiplier=channel_multiplier, blur_kernel=blur_kernel, mbstd_cfg=mbstd_cfg,
                         channel_max=channel_max, input_bgr2rgb=input_bgr2rgb, num_fp16_scales=num_fp16_scales,
                         fp16_enabled=fp16_enabled, out_fp32=out_fp32, convert_input_fp32=convert_input_fp32,
                         init_cfg=init_cfg, pretrained=pretrained)
        self.use_dual_disc, self.disc_c_noise = use_dual_disc, disc_c_noise
        self.mapping = None
        if cond_size is not None and cond_size > 0:
            width = self.final_linear[0].weight.shape[0]
            mapping_width = 512 if cond_mapping_channels is None else cond_mapping_channels
            self.mapping = MappingNetwork(noise_size=0, style_channels=mapping_width, num_ws=None,
                                          cond_size=cond_size, num_layers=cond_mapping_layers or 8,
                                          w_avg_beta=None)
            self.final_linear[1] = EqualLinear(width, mapping_width)

    def forward(self, img: torch.Tensor, img_raw: torch.Tensor | None = None,
                cond: torch.Tensor | None = None) -> torch.Tensor:
        """Images N×C×S×S in [-1, 1] (and the N×C×s×s rendered ones) -> N×1 scores."""
        if self.use_dual_disc and img_raw is None:
            raise ValueError("DualDiscriminator: img_raw (the rendered low-resolution image) is needed with "
                             "use_dual_disc=True")
        if self.input_bgr2rgb:
            img = img.flip(1)
            img_raw = img_raw.flip(1) if img_raw is not None else None
        if img_raw is not None:
            img_raw = F.interpolate(img_raw, size=(img.shape[-1], img.shape[-1]), mode="bilinear",
                                    align_corners=False, antialias=True)
            img = torch.cat([img, img_raw], dim=1)
        x = self.final_conv(self.mbstd_layer(self.convs(img)).float())
        x = self.final_linear(x.flatten(1))
        if cond is not None:
            if self.mapping is None:
                raise ValueError("DualDiscriminator: a camera input needs cond_size to be set")
            if self.disc_c_noise:
                cond = cond + torch.randn_like(cond) * cond.std() * self.disc_c_noise
            cmap = self.mapping(None, cond)
            x = (x * cmap).sum(dim=1, keepdim=True) / math.sqrt(cmap.shape[1])
        return x


__all__ = ["DualDiscriminator"]
