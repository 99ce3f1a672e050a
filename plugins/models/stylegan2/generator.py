"""StyleGAN2's generator (Karras et al. 2020, config-e/f): mapping network, modulated
convolutions with noise injection, and skip connections through RGB outputs.

Arguments and state-dict names follow MMagic 1.2.0's ``StyleGANv2Generator``;
``channel_max`` (default 512, MMagic's fixed width) is mgx's addition for
reduced-width models: a resolution r has ``min(channel_multiplier · 16384 / r,
channel_max)`` channels.
"""
from __future__ import annotations

import math
import random
from typing import Sequence

import torch
from torch import nn

from mgx.core.errors import ConfigError

from .modules import ConstantInput, EqualLinear, ModulatedStyleConv, ModulatedToRGB, PixelNorm

MEAN_LATENT_SEED = 20_240_917  # fixed, so truncation gives the same image on any rank and run


def channels_at(resolution: int, channel_multiplier: int, channel_max: int) -> int:
    return int(min(channel_multiplier * 16384 // resolution, channel_max)) if resolution > 32 else channel_max


def check_size(value, name: str, who: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 4 or 2 ** round(math.log2(value)) != value:
        raise ConfigError(f"{who}: {name} must be a power of two ≥ 4 (e.g. 32, 256), got {value!r}")
    return int(math.log2(value))


class StyleGANv2Generator(nn.Module):
    def __init__(self, out_size: int, style_channels: int = 512, out_channels: int = 3, noise_size: int | None = None,
                 num_mlps: int = 8, channel_multiplier: int = 2, blur_kernel: Sequence[int] = (1, 3, 3, 1),
                 lr_mlp: float = 0.01, default_style_mode: str = "mix", eval_style_mode: str = "single",
                 norm_eps: float = 1e-6, mix_prob: float = 0.9, channel_max: int = 512, bgr2rgb: bool = False,
                 cond_size: int | None = None, fp16_enabled: bool = False, num_fp16_scales: int = 0,
                 update_mean_latent_with_ema: bool = False, w_avg_beta: float = 0.998, fixed_noise: bool = False,
                 pretrained: dict | None = None) -> None:
        super().__init__()
        who = "StyleGANv2Generator"
        if cond_size:
            raise ConfigError(f"{who}: conditional generation (cond_size={cond_size!r}) is not supported")
        if pretrained is not None:
            raise ConfigError(f"{who}: pretrained= is not supported; use load_from= with an MMagic checkpoint")
        for name, value in (("default_style_mode", default_style_mode), ("eval_style_mode", eval_style_mode)):
            if value not in ("mix", "single"):
                raise ConfigError(f"{who}: {name} must be 'mix' or 'single', got {value!r}")
        if not 0.0 <= mix_prob <= 1.0:
            raise ConfigError(f"{who}: mix_prob must be in [0, 1], got {mix_prob!r}")
        self.log_size = check_size(out_size, "out_size", who)
        if self.log_size < 3:
            raise ConfigError(f"{who}: out_size must be ≥ 8, got {out_size}")
        # fp16_enabled/num_fp16_scales: mixed precision comes from --amp (torch.autocast) instead
        self.out_size, self.style_channels, self.out_channels = out_size, style_channels, out_channels
        self.noise_size = style_channels if noise_size is None else noise_size
        self.num_mlps, self.channel_multiplier, self.lr_mlp = num_mlps, channel_multiplier, lr_mlp
        self.default_style_mode = self._train_style_mode = default_style_mode
        self.eval_style_mode, self.mix_prob, self.bgr2rgb = eval_style_mode, mix_prob, bgr2rgb

        layers: list[nn.Module] = [PixelNorm(norm_eps)]
        for index in range(num_mlps):
            layers.append(EqualLinear(self.noise_size if index == 0 else style_channels, style_channels,
                                      lr_mul=lr_mlp, activate=True))
        self.style_mapping = nn.Sequential(*layers)

        width = {2 ** r: channels_at(2 ** r, channel_multiplier, channel_max) for r in range(2, self.log_size + 1)}
        self.channels = width
        self.constant_input = ConstantInput(width[4])
        self.conv1 = ModulatedStyleConv(width[4], width[4], 3, style_channels, blur_kernel=blur_kernel)
        self.to_rgb1 = ModulatedToRGB(width[4], style_channels, out_channels, upsample=False)
        self.convs, self.to_rgbs = nn.ModuleList(), nn.ModuleList()
        in_width = width[4]
        for res in range(3, self.log_size + 1):
            out_width = width[2 ** res]
            self.convs.append(ModulatedStyleConv(in_width, out_width, 3, style_channels, upsample=True,
                                                 blur_kernel=blur_kernel))
            self.convs.append(ModulatedStyleConv(out_width, out_width, 3, style_channels, blur_kernel=blur_kernel))
            self.to_rgbs.append(ModulatedToRGB(out_width, style_channels, out_channels, blur_kernel=blur_kernel))
            in_width = out_width
        self.num_latents = self.log_size * 2 - 2
        self.num_injected_noises = self.num_latents - 1
        for index in range(self.num_injected_noises):
            size = 2 ** ((index + 5) // 2)
            self.register_buffer(f"injected_noise_{index}", torch.randn(1, 1, size, size))
        # MMagic (DragGAN's configs): the 4×4 layer's fresh noise is drawn from seed 1024 on every call
        self.first_noise_fixed = bool(fixed_noise)
        if update_mean_latent_with_ema:
            # mean W tracked by EMA (a buffer MMagic's checkpoints carry) replaces the sampled mean
            self.register_buffer("w_avg", torch.zeros(style_channels))
            self.w_avg_beta = w_avg_beta

    # -- pieces ------------------------------------------------------------------

    def train(self, mode: bool = True):
        self.default_style_mode = self._train_style_mode if mode else self.eval_style_mode
        return super().train(mode)

    @property
    def device(self) -> torch.device:
        return self.to_rgb1.bias.device

    def head_input(self, batch: int, transform: torch.Tensor | None = None) -> torch.Tensor:
        """What the first style conv reads: the learned constant (MSPIE's generator puts a positional
        encoding here)."""
        return self.constant_input(batch, transform)

    def noise_shapes(self) -> list[tuple[int, int]]:
        """(height, width) of each injected-noise map, in layer order."""
        return [(2 ** ((i + 5) // 2),) * 2 for i in range(self.num_injected_noises)]

    def fixed_noise(self) -> list[torch.Tensor]:
        return [getattr(self, f"injected_noise_{i}") for i in range(self.num_injected_noises)]

    def make_injected_noise(self, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        device = self.device
        return [torch.randn(1, 1, h, w, generator=generator).to(device) for h, w in self.noise_shapes()]

    def mapping(self, z: torch.Tensor) -> torch.Tensor:
        return self.style_mapping(z)

    @torch.no_grad()
    def get_mean_latent(self, num_samples: int = 4096) -> torch.Tensor:
        """Mean W over ``num_samples`` latents drawn with a fixed seed (deterministic on every rank), or
        the EMA-tracked ``w_avg`` with ``update_mean_latent_with_ema``."""
        if hasattr(self, "w_avg"):
            return self.w_avg[None]
        z = torch.randn(num_samples, self.noise_size, generator=torch.Generator().manual_seed(MEAN_LATENT_SEED))
        return self.style_mapping(z.to(self.device)).mean(dim=0, keepdim=True)

    def broadcast_latent(self, styles: list[torch.Tensor], inject_index: int | None) -> torch.Tensor:
        """One or two style codes (N×C, or N×L×C) -> N×num_latents×C; two mix at ``inject_index``."""
        if len(styles) == 1:
            style = styles[0]
            return style if style.dim() == 3 else style[:, None].expand(-1, self.num_latents, -1)
        if inject_index is None:
            inject_index = random.randint(1, self.num_latents - 1)
        first = styles[0][:, None].expand(-1, inject_index, -1)
        second = styles[1][:, None].expand(-1, self.num_latents - inject_index, -1)
        return torch.cat([first, second], dim=1)

    def synthesis(self, latent: torch.Tensor, injected_noise: list | None = None, add_noise: bool = True,
                  transform: torch.Tensor | None = None, return_features: bool = False):
        """N×num_latents×C latents -> images; ``injected_noise`` entries may be None (fresh noise).
        ``return_features``: also each resolution's last feature map (DragGAN's point tracking)."""
        noise = list(injected_noise) if injected_noise is not None else [None] * self.num_injected_noises
        out = self.head_input(latent.shape[0], transform).to(latent.dtype)
        if noise[0] is None and self.first_noise_fixed:
            seeded = torch.Generator().manual_seed(1024)
            noise[0] = torch.randn(out.shape[0], 1, *out.shape[2:], generator=seeded).to(out.device)
        out = self.conv1(out, latent[:, 0], noise=noise[0], add_noise=add_noise)
        features = [out] if return_features else None
        skip = self.to_rgb1(out, latent[:, 1])
        index = 1
        for up_conv, conv, noise1, noise2, to_rgb in zip(self.convs[::2], self.convs[1::2], noise[1::2],
                                                         noise[2::2], self.to_rgbs):
            out = up_conv(out, latent[:, index], noise=noise1, add_noise=add_noise)
            out = conv(out, latent[:, index + 1], noise=noise2, add_noise=add_noise)
            if features is not None:
                features.append(out)
            skip = to_rgb(out, latent[:, index + 2], skip)
            index += 2
        image = skip.float()
        image = image.flip(1) if self.bgr2rgb else image
        return (image, features) if return_features else image

    # -- MMagic's call ----------------------------------------------------------

    def forward(self, styles=None, num_batches: int = -1, return_noise: bool = False, return_latents: bool = False,
                inject_index: int | None = None, truncation: float = 1.0, truncation_latent=None,
                input_is_latent: bool = False, injected_noise: list | None = None, add_noise: bool = True,
                randomize_noise: bool = True, transform=None, update_ws: bool = False,
                return_features: bool = False, feat_idx: int = 5, return_latent_only: bool = False):
        """MMagic's generator call: ``styles`` a tensor, a list of 1–2 tensors (style mixing), a
        callable ``f(shape)``, or None (Gaussian noise, with mixing by ``mix_prob`` in 'mix' mode).
        Returns the image, or ``dict(fake_img, latent, inject_index, noise_batch)`` (plus ``feats``, the
        ``feat_idx``-th feature map, with ``return_features``). ``update_ws`` moves ``w_avg`` towards the
        batch's mean W in training, as MMagic's (its train step never asks for it)."""
        dim = self.style_channels if input_is_latent else self.noise_size
        device = self.device
        if isinstance(styles, torch.Tensor):
            styles = [styles]
        elif styles is None or callable(styles):
            if num_batches <= 0:
                raise ValueError("StyleGANv2Generator: give styles or num_batches > 0")
            draw = styles if callable(styles) else (lambda shape: torch.randn(shape))
            count = 2 if self.default_style_mode == "mix" and random.random() < self.mix_prob else 1
            styles = [draw((num_batches, dim)).to(device) for _ in range(count)]
        styles = list(styles)
        for style in styles:
            if style.shape[-1] != dim:
                raise ValueError(f"StyleGANv2Generator: expected {dim}-dim {'latents' if input_is_latent else 'noise'}, "
                                 f"got shape {tuple(style.shape)}")
        noise_batch = None if input_is_latent else styles
        if not input_is_latent:
            styles = [self.style_mapping(style) for style in styles]
        if hasattr(self, "w_avg") and self.training and update_ws:
            self.w_avg.copy_(styles[0].detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        if truncation < 1:
            mean = self.get_mean_latent() if truncation_latent is None else truncation_latent
            styles = [mean + truncation * (style - mean) for style in styles]
        if len(styles) == 1:
            inject_index = self.num_latents
        elif inject_index is None:
            inject_index = random.randint(1, self.num_latents - 1)
        latent = self.broadcast_latent(styles, inject_index)
        if return_latent_only:
            return latent
        if injected_noise is None and not randomize_noise:
            injected_noise = self.fixed_noise()
        features_wanted = return_features and (return_latents or return_noise)
        image = self.synthesis(latent, injected_noise, add_noise, transform, return_features=features_wanted)
        if features_wanted:
            image, features = image
        if return_latents or return_noise:
            out = dict(fake_img=image, latent=latent, inject_index=inject_index, noise_batch=noise_batch)
            if features_wanted:
                out["feats"] = features[feat_idx]
            return out
        return image
