"""MMagic's ``StyleGANv1Generator`` (``StyleGAN1Generator``) and ``StyleGAN1Discriminator``
(``StyleGANv1Discriminator``): StyleGAN (Karras et al. 2019) grown progressively.

Widths per resolution: 4..32 px 512, 64: 256, 128: 128, 256: 64, 512: 32, 1024: 16.
Generator: pixel norm + ``num_mlps`` equalized linears (lr ×``lr_mlp``, LeakyReLU) map z to w; one
``StyleConv`` per resolution (the first from a learned constant) takes two of the ``2·log2(size) − 2`` w's;
a 1×1 ``to_rgbs`` per resolution. Two w's (style mixing at a random layer) only when the generator draws
its own latents; the ``injected_noise_<i>`` buffers are the fixed noise of ``randomize_noise=False``.
Discriminator: per resolution a 3×3 ``from_rgb`` and ``convs`` (conv, blur, fused 2×2-pool conv,
LeakyReLU); at 4 px minibatch stddev, a 3×3 and a 4×4 conv, then ``final_linear``.

Fade-in at ``curr_scale`` with weight t < 1: ``(1 − t)·skip + t·new`` on both sides (the skip is the previous
resolution's RGB, up-sampled; in the discriminator the pooled image through the previous from_rgb).
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError

from ..ops.equalized_lr import EqualizedConvModule, PixelNorm, minibatch_stddev
from .modules import Blur, EqualLinearActModule, StyleConv

CHANNELS = {4: 512, 8: 512, 16: 512, 32: 512, 64: 256, 128: 128, 256: 64, 512: 32, 1024: 16}
_LEAKY = dict(type="LeakyReLU", negative_slope=0.2)


def _size(size: Any, name: str, who: str) -> int:
    if isinstance(size, bool) or size not in CHANNELS or size < 8:
        raise ConfigError(f"{who}: {name} must be one of {sorted(s for s in CHANNELS if s >= 8)}, got {size!r}")
    return int(math.log2(size))


def _taps(blur_kernel: Any, who: str) -> tuple:
    if not isinstance(blur_kernel, (list, tuple)) or len(blur_kernel) != 3:
        raise ConfigError(f"{who}: blur_kernel must be 3 taps (e.g. [1, 2, 1]: the blur keeps the size with "
                          f"padding 1), got {blur_kernel!r}")
    return tuple(float(tap) for tap in blur_kernel)


class StyleGAN1Generator(nn.Module):
    def __init__(self, out_size: int, style_channels: int, num_mlps: int = 8, blur_kernel: Sequence = (1, 2, 1),
                 lr_mlp: float = 0.01, default_style_mode: str = "mix", eval_style_mode: str = "single",
                 mix_prob: float = 0.9) -> None:
        super().__init__()
        who = "StyleGANv1Generator"
        self.log_size = _size(out_size, "out_size", who)
        for name, mode in (("default_style_mode", default_style_mode), ("eval_style_mode", eval_style_mode)):
            if mode not in ("mix", "single"):
                raise ConfigError(f"{who}: {name} must be 'mix' or 'single', got {mode!r}")
        self.out_size = self.out_scale = self.output_scale = out_size
        self.style_channels = self.noise_size = style_channels
        self.out_channels, self.mix_prob = 3, mix_prob
        self._train_style_mode, self.eval_style_mode = default_style_mode, eval_style_mode
        self.default_style_mode = default_style_mode
        self.style_mapping = nn.Sequential(PixelNorm(), *(
            EqualLinearActModule(style_channels, style_channels, gain=1.0, lr_mul=lr_mlp, activate=True)
            for _ in range(num_mlps)))
        taps = _taps(blur_kernel, who)
        self.convs, self.to_rgbs = nn.ModuleList(), nn.ModuleList()
        in_channels = CHANNELS[4]
        for i in range(2, self.log_size + 1):
            self.convs.append(StyleConv(in_channels, CHANNELS[2 ** i], style_channels, initial=i == 2,
                                        blur_kernel=taps))
            self.to_rgbs.append(EqualizedConvModule(CHANNELS[2 ** i], 3, 1))
            in_channels = CHANNELS[2 ** i]
        self.num_latents = self.num_injected_noises = self.log_size * 2 - 2
        for index in range(self.num_injected_noises):
            side = 2 ** ((index + 4) // 2)
            self.register_buffer(f"injected_noise_{index}", torch.randn(1, 1, side, side))

    def train(self, mode: bool = True) -> "StyleGAN1Generator":
        self.default_style_mode = self._train_style_mode if mode else self.eval_style_mode
        return super().train(mode)

    def _latents(self, styles: Any, num_batches: int) -> list:
        device = self.style_mapping[1].bias.device
        if styles is None:
            if num_batches < 1:
                raise ValueError("StyleGANv1Generator: give styles (N×style_channels) or num_batches > 0")
            count = 2 if self.default_style_mode == "mix" and float(torch.rand(())) < self.mix_prob else 1
            styles = [torch.randn(num_batches, self.style_channels, device=device) for _ in range(count)]
        styles = [styles] if isinstance(styles, torch.Tensor) else list(styles)
        for style in styles:
            if style.shape[-1] != self.style_channels:
                raise ValueError(f"StyleGANv1Generator: styles must be N×{self.style_channels}, got {tuple(style.shape)}")
        return styles

    def _mixed(self, styles: list, inject_index: int | None) -> torch.Tensor:
        if len(styles) < 2:
            return styles[0] if styles[0].dim() == 3 else styles[0].unsqueeze(1).repeat(1, self.num_latents, 1)
        if inject_index is None:
            inject_index = int(torch.randint(1, self.num_latents, ()))
        return torch.cat([styles[0].unsqueeze(1).repeat(1, inject_index, 1),
                          styles[1].unsqueeze(1).repeat(1, self.num_latents - inject_index, 1)], dim=1)

    @torch.no_grad()
    def get_mean_latent(self, num_samples: int = 4096, bs_per_repeat: int = 1024) -> torch.Tensor:
        device = self.style_mapping[1].bias.device
        repeats = max(1, num_samples // bs_per_repeat)
        total = sum(self.style_mapping(torch.randn(bs_per_repeat, self.style_channels, device=device)).mean(
            0, keepdim=True) for _ in range(repeats))
        return total / repeats

    def forward(self, styles: Any = None, num_batches: int = -1, return_noise: bool = False,
                return_latents: bool = False, inject_index: int | None = None, truncation: float = 1,
                truncation_latent: torch.Tensor | None = None, input_is_latent: bool = False,
                injected_noise: list | None = None, randomize_noise: bool = True, transition_weight: Any = 1.0,
                curr_scale: int = -1) -> Any:
        styles = self._latents(styles, num_batches)
        noise_batch = None if input_is_latent else styles
        if not input_is_latent:
            styles = [self.style_mapping(style) for style in styles]
        if injected_noise is None:
            injected_noise = [None] * self.num_injected_noises if randomize_noise else [
                getattr(self, f"injected_noise_{i}") for i in range(self.num_injected_noises)]
        if truncation < 1:
            if truncation_latent is None:
                truncation_latent = self.get_mean_latent()
            styles = [truncation_latent + truncation * (style - truncation_latent) for style in styles]
        latent = self._mixed(styles, inject_index)
        step = (self.log_size if curr_scale < 0 else int(math.log2(curr_scale))) - 2
        out = previous = latent
        for i, (conv, to_rgb) in enumerate(zip(self.convs, self.to_rgbs)):
            previous = out
            out = conv(out, latent[:, 2 * i], latent[:, 2 * i + 1], injected_noise[2 * i], injected_noise[2 * i + 1])
            if i == step:
                out = to_rgb(out)
                if i > 0 and 0 <= transition_weight < 1:
                    skip = F.interpolate(self.to_rgbs[i - 1](previous), scale_factor=2, mode="nearest")
                    out = (1 - transition_weight) * skip + transition_weight * out
                break
        if return_latents or return_noise:
            return dict(fake_img=out, latent=latent, inject_index=inject_index, noise_batch=noise_batch)
        return out


class StyleGAN1Discriminator(nn.Module):
    def __init__(self, in_size: int, blur_kernel: Sequence = (1, 2, 1), mbstd_cfg: dict | None = dict(group_size=4)
                 ) -> None:
        super().__init__()
        who = "StyleGAN1Discriminator"
        self.log_size = _size(in_size, "in_size", who)
        if not isinstance(mbstd_cfg, dict) or set(mbstd_cfg) - {"group_size", "eps"}:
            raise ConfigError(f"{who}: mbstd_cfg must be dict(group_size=..., eps=...) (MMagic's forward always "
                              f"applies it), got {mbstd_cfg!r}")
        self.mbstd_cfg = {"group_size": 4, "eps": 1e-8, **mbstd_cfg}
        self.in_size = self.in_scale = self.input_scale = in_size
        self.in_channels = 3
        taps = _taps(blur_kernel, who)
        self.convs, self.from_rgb = nn.ModuleList(), nn.ModuleList()
        width = CHANNELS[in_size]
        for i in range(self.log_size, 2, -1):
            narrower = CHANNELS[2 ** (i - 1)]
            self.from_rgb.append(EqualizedConvModule(3, width, 3, padding=1, act_cfg=_LEAKY))
            self.convs.append(nn.Sequential(
                EqualizedConvModule(width, narrower, 3, padding=1, act_cfg=_LEAKY), Blur(taps, pad=(1, 1)),
                EqualizedConvModule(narrower, narrower, 3, padding=1, kind="conv_fused_down"), nn.LeakyReLU(0.2)))
            width = narrower
        self.from_rgb.append(EqualizedConvModule(3, width, 3, padding=0, act_cfg=_LEAKY))
        self.convs.append(nn.Sequential(EqualizedConvModule(width + 1, 512, 3, padding=1, act_cfg=_LEAKY),
                                        EqualizedConvModule(512, 512, 4, padding=0)))
        self.final_linear = nn.Sequential(EqualLinearActModule(CHANNELS[4], 1))
        self.n_layer = len(self.convs)

    def forward(self, x: torch.Tensor, transition_weight: Any = 1.0, curr_scale: int = -1) -> torch.Tensor:
        step = (self.log_size if curr_scale < 0 else int(math.log2(curr_scale))) - 2
        if x.dim() != 4 or x.shape[2:] != (2 ** (step + 2),) * 2:
            raise ValueError(f"StyleGAN1Discriminator: images at scale {2 ** (step + 2)} must be "
                             f"N×3×{2 ** (step + 2)}×{2 ** (step + 2)}, got {tuple(x.shape)}")
        out = x
        for i in range(step, -1, -1):
            index = self.n_layer - i - 1
            if i == step:
                out = self.from_rgb[index](x)
            if i == 0:
                out = minibatch_stddev(out, **self.mbstd_cfg)
            out = self.convs[index](out)
            if 0 < i == step and 0 <= transition_weight < 1:
                skip = self.from_rgb[index + 1](F.avg_pool2d(x, 2))
                out = (1 - transition_weight) * skip + transition_weight * out
        return self.final_linear(out.reshape(out.shape[0], -1))


__all__ = ["CHANNELS", "StyleGAN1Discriminator", "StyleGAN1Generator"]
