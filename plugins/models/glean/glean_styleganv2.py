"""``GLEANStyleGANv2`` (Chan et al., CVPR 2021) under MMagic 1.2.0's name, arguments and layer names.

GLEAN super-resolves by ×(out_size / in_size) with a frozen StyleGAN2 generator as a "latent bank":

- **encoder**: an RRDB trunk (``RRDBFeatureExtractor``: ESRGAN without its up-sampling) and a conv at
  ``in_size``, then stride-2 conv pairs down to 4×4, and a linear layer from the 4×4 features to
  ``2·log2(out_size) − 2`` style codes (the generator's latents);
- **latent bank**: StyleGAN2's synthesis (``generator``, mgx's ``StyleGANv2Generator`` with its fixed
  injected noise, ``requires_grad=False``) driven by those codes; up to ``in_size`` each level's features
  and RGB skip are fused with the encoder's feature of that size (``fusion_out``/``fusion_skip`` 3×3 convs);
- **decoder**: from the encoder's ``in_size`` features, pixel-shuffle ×2 steps, each concatenated with the
  generator's features of the next size, to ``out_size``, then two convs to an image.

``channel_max`` (mgx's addition, passed to the generator) caps StyleGAN's widths for small test models.
``init_cfg=dict(type='Pretrained', checkpoint=<StyleGAN2 checkpoint>, prefix='generator_ema')`` loads
that StyleGAN2 generator into ``generator`` (MMagic's or mgx's key layout).
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from mgx.core.errors import ConfigError

from ..esrgan.rrdb_net import RRDB
from ..ops.sr_layers import PixelShufflePack, stack
from ..stylegan2 import StyleGANv2Generator
from ..stylegan2.checkpoint import network_weights


class RRDBFeatureExtractor(nn.Module):
    """conv, RRDB trunk, conv + the trunk's skip: ESRGAN's body at the input's resolution."""

    def __init__(self, in_channels: int = 3, mid_channels: int = 64, num_blocks: int = 23,
                 growth_channels: int = 32) -> None:
        super().__init__()
        self.conv_first = nn.Conv2d(in_channels, mid_channels, 3, 1, 1)
        self.body = stack(lambda: RRDB(mid_channels, growth_channels), num_blocks)
        self.conv_body = nn.Conv2d(mid_channels, mid_channels, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.conv_first(x)
        return feat + self.conv_body(self.body(feat))


def _lrelu() -> nn.Module:
    return nn.LeakyReLU(negative_slope=0.2, inplace=True)


class GLEANStyleGANv2(nn.Module):
    """See the module docstring; arguments as MMagic 1.2.0's (``channel_max`` added)."""

    def __init__(self, in_size: int, out_size: int, img_channels: int = 3, rrdb_channels: int = 64,
                 num_rrdbs: int = 23, style_channels: int = 512, num_mlps: int = 8, channel_multiplier: int = 2,
                 blur_kernel: Sequence[int] = (1, 3, 3, 1), lr_mlp: float = 0.01, default_style_mode: str = "mix",
                 eval_style_mode: str = "single", mix_prob: float = 0.9, init_cfg: dict | None = None,
                 fp16_enabled: bool = False, bgr2rgb: bool = False, channel_max: int = 512) -> None:
        super().__init__()
        if in_size >= out_size:
            raise ConfigError(f"GLEANStyleGANv2: in_size must be smaller than out_size, got {in_size} and {out_size}")
        if in_size < 4 or 2 ** round(math.log2(in_size)) != in_size:
            raise ConfigError(f"GLEANStyleGANv2: in_size must be a power of two ≥ 4, got {in_size}")
        # fp16_enabled: mixed precision comes from --amp (torch.autocast) in mgx
        self.generator = StyleGANv2Generator(out_size, style_channels, num_mlps=num_mlps,
                                             channel_multiplier=channel_multiplier, blur_kernel=blur_kernel,
                                             lr_mlp=lr_mlp, default_style_mode=default_style_mode,
                                             eval_style_mode=eval_style_mode, mix_prob=mix_prob,
                                             channel_max=channel_max, bgr2rgb=bgr2rgb)
        self.generator.requires_grad_(False)
        self.in_size, self.style_channels = in_size, style_channels
        channels = self.generator.channels
        num_styles = int(math.log2(out_size)) * 2 - 2
        encoder_res = [2 ** i for i in range(int(math.log2(in_size)), 1, -1)]
        self.encoder = nn.ModuleList([nn.Sequential(
            RRDBFeatureExtractor(img_channels, rrdb_channels, num_blocks=num_rrdbs),
            nn.Conv2d(rrdb_channels, channels[in_size], 3, 1, 1), _lrelu())])
        for res in encoder_res:
            width = channels[res]
            if res > 4:
                narrower = channels[res // 2]
                block = nn.Sequential(nn.Conv2d(width, narrower, 3, 2, 1), _lrelu(),
                                      nn.Conv2d(narrower, narrower, 3, 1, 1), _lrelu())
            else:  # 4×4 features -> every style code at once
                block = nn.Sequential(nn.Conv2d(width, width, 3, 1, 1), _lrelu(), nn.Flatten(),
                                      nn.Linear(16 * width, num_styles * style_channels))
            self.encoder.append(block)
        self.fusion_out, self.fusion_skip = nn.ModuleList(), nn.ModuleList()
        for res in encoder_res[::-1]:
            self.fusion_out.append(nn.Conv2d(channels[res] * 2, channels[res], 3, 1, 1))
            self.fusion_skip.append(nn.Conv2d(channels[res] + 3, 3, 3, 1, 1))
        self.decoder = nn.ModuleList()
        for res in (2 ** i for i in range(int(math.log2(in_size)), int(math.log2(out_size)) + 1)):
            width = channels[res] if res == in_size else 2 * channels[res]
            if res < out_size:
                self.decoder.append(PixelShufflePack(width, channels[res * 2], 2, upsample_kernel=3))
            else:
                self.decoder.append(nn.Sequential(nn.Conv2d(width, 64, 3, 1, 1), _lrelu(),
                                                  nn.Conv2d(64, img_channels, 3, 1, 1)))

    def load_pretrained_weights(self, weights: dict) -> None:
        """``init_cfg``'s weights are a StyleGAN2 generator's (MMagic's or mgx's layout): they go into
        ``generator``, strictly; the encoder and decoder keep their initialisation."""
        self.generator.load_state_dict(network_weights(weights))

    def adapt_loaded_weights(self, weights: dict) -> dict:
        """A whole GLEAN state dict (MMagic's: the bank's keys in MMagic's StyleGAN2 layout) -> mgx's."""
        bank = {k[len("generator."):]: v for k, v in weights.items() if k.startswith("generator.")}
        rest = {k: v for k, v in weights.items() if not k.startswith("generator.")}
        return rest | {f"generator.{k}": v for k, v in network_weights(bank).items()}

    def forward(self, lq: torch.Tensor) -> torch.Tensor:
        h, w = lq.shape[2:]
        if h != self.in_size or w != self.in_size:
            raise ValueError(f"GLEANStyleGANv2: the input must be {self.in_size}×{self.in_size} (in_size), "
                             f"got {h}×{w}")
        features = []
        feat = lq
        for block in self.encoder:
            feat = block(feat)
            features.append(feat)
        features = features[::-1]
        latent = features[0].view(lq.size(0), -1, self.style_channels)
        encoder_features = features[1:]  # 4×4 first, in_size last
        gen = self.generator
        noise = gen.fixed_noise()
        out = gen.constant_input(latent.shape[0], None).to(latent.dtype)
        out = gen.conv1(out, latent[:, 0], noise=noise[0])
        skip = gen.to_rgb1(out, latent[:, 1])
        index, bank = 1, []
        for up_conv, conv, noise1, noise2, to_rgb in zip(gen.convs[::2], gen.convs[1::2], noise[1::2], noise[2::2],
                                                         gen.to_rgbs):
            if out.size(2) <= self.in_size:
                fusion = (index - 1) // 2
                enc = encoder_features[fusion]
                out = self.fusion_out[fusion](torch.cat([out, enc], dim=1))
                skip = self.fusion_skip[fusion](torch.cat([skip, enc], dim=1))
            out = up_conv(out, latent[:, index], noise=noise1)
            out = conv(out, latent[:, index + 1], noise=noise2)
            skip = to_rgb(out, latent[:, index + 2], skip)
            if out.size(2) > self.in_size:
                bank.append(out)
            index += 2
        hr = encoder_features[-1]
        for step, block in enumerate(self.decoder):
            if step > 0:
                hr = torch.cat([hr, bank[step - 1]], dim=1)
            hr = block(hr)
        return hr
