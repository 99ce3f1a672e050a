"""EG3D's tri-plane backbone and super-resolution module (MMagic 1.2.0's ``eg3d_modules``).

``TriPlaneBackbone`` is StyleGAN2's generator (mgx's :class:`StyleGANv2Generator`: synthesis, injected
noise, channel widths) with EG3D's conditional mapping: the camera (25 numbers, × ``cond_scale``, or
zeros with ``zero_cond_input``) is embedded by an equalized-LR linear layer (``embed``); noise and
embedding are each pixel-normalised, concatenated and mapped by ``num_mlps`` layers (no leading
PixelNorm in ``style_mapping``, as MMagic builds it with ``cond_size``). ``w_avg`` follows the mean
style (β = ``w_avg_beta``) in training and is the truncation centre. Its output, ``3 × triplane
channels`` wide at ``out_size``, is reshaped into the three planes.

``SuperResolutionModule``: two StyleGAN2 synthesis blocks (``block0``, ``block1``; modulated 3×3
convs and a to-RGB skip path, each ×2 up-sampling where the sizes ask for it) driven by the last style
code, from the rendered feature image (resized to ``in_size`` with antialiased bilinear interpolation
when it differs) to the output image.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError

from ..stylegan2.generator import StyleGANv2Generator
from ..stylegan2.modules import EqualLinear, ModulatedStyleConv, ModulatedToRGB, PixelNorm


class TriPlaneBackbone(StyleGANv2Generator):
    def __init__(self, noise_size: int, out_size: int, out_channels: int, num_mlps: int = 8,
                 style_channels: int = 512, cond_size: int | None = 25, cond_mapping_channels: int | None = None,
                 cond_scale: float = 0, zero_cond_input: bool = False, norm_eps: float = 1e-6,
                 lr_mlp: float = 0.01, w_avg_beta: float = 0.998, **kwargs) -> None:
        super().__init__(out_size, style_channels, out_channels=out_channels, noise_size=noise_size,
                         num_mlps=num_mlps, norm_eps=norm_eps, lr_mlp=lr_mlp, **kwargs)
        self.cond_size = cond_size if cond_size and cond_size > 0 else None
        self.cond_scale, self.zero_cond_input, self.w_avg_beta = cond_scale, zero_cond_input, w_avg_beta
        self.pixel_norm = PixelNorm(norm_eps)
        mapping_width = 0
        if self.cond_size:
            mapping_width = style_channels if cond_mapping_channels is None else cond_mapping_channels
            self.embed = EqualLinear(self.cond_size, mapping_width)
            layers = []
        else:
            layers = [PixelNorm(norm_eps)]
        for index in range(num_mlps):
            layers.append(EqualLinear(self.noise_size + mapping_width if index == 0 else style_channels,
                                      style_channels, lr_mul=lr_mlp, activate=True))
        self.style_mapping = nn.Sequential(*layers)
        if self.cond_size:
            self.register_buffer("w_avg", torch.zeros(style_channels))

    def mapping(self, noise: torch.Tensor, label: torch.Tensor | None = None, truncation: float = 1,
                num_truncation_layer: int | None = None, update_ws: bool = True) -> torch.Tensor:
        """z (N×noise_size) and camera (N×cond_size) -> w (N×style_channels)."""
        if noise.shape[1] != self.noise_size:
            raise ValueError(f"TriPlaneBackbone: noise must be N×{self.noise_size}, got {tuple(noise.shape)}")
        if label is None and self.zero_cond_input and self.cond_size:
            label = noise.new_zeros(noise.shape[0], self.cond_size)
        inputs = self.pixel_norm(noise)
        if label is not None and self.cond_size:
            if label.shape[1] != self.cond_size:
                raise ValueError(f"TriPlaneBackbone: the camera input must be N×{self.cond_size}, "
                                 f"got {tuple(label.shape)}")
            label = torch.zeros_like(label) if self.zero_cond_input else label.to(noise.dtype)
            inputs = torch.cat([inputs, self.pixel_norm(self.embed(label * self.cond_scale))], dim=1)
        elif self.cond_size:
            raise ValueError("TriPlaneBackbone: a camera input (label) is needed (cond_size is set)")
        styles = self.style_mapping(inputs)
        # MMagic updates w_avg at every mapping call; mgx only while training, so evaluating a loaded
        # checkpoint leaves its truncation centre as published
        if hasattr(self, "w_avg") and update_ws and self.training:
            self.w_avg.copy_(styles.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        if truncation < 1:
            mean = self.get_mean_latent()
            styles = mean + truncation * (styles - mean)
        return styles

    def get_mean_latent(self, num_samples: int = 4096) -> torch.Tensor:
        if hasattr(self, "w_avg"):
            return self.w_avg
        return super().get_mean_latent(num_samples)

    def synthesis(self, styles: torch.Tensor, injected_noise: list | None = None, add_noise: bool = True,
                  transform: torch.Tensor | None = None, randomize_noise: bool = True) -> torch.Tensor:
        """w (N×C, or N×num_latents×C) -> the tri-plane image N×out_channels×out_size²."""
        latent = self.broadcast_latent([styles], None)
        if injected_noise is None and not randomize_noise:
            injected_noise = self.fixed_noise()
        return super().synthesis(latent, injected_noise, add_noise, transform)


class SynthesisBlock(nn.Module):
    """Two modulated 3×3 convs (the first up-sampling ×2 when ``upsample``) and a to-RGB added to the image."""

    def __init__(self, in_channels: int, out_channels: int, style_channels: int, img_channels: int,
                 upsample: bool = True, conv_clamp: int = 256, fp16_enabled: bool = False) -> None:
        super().__init__()
        # conv_clamp only acts on fp16 layers in MMagic; mixed precision comes from --amp in mgx
        self.in_channels, self.out_channels, self.upsample = in_channels, out_channels, upsample
        self.conv0 = ModulatedStyleConv(in_channels, out_channels, 3, style_channels, upsample=upsample)
        self.conv1 = ModulatedStyleConv(out_channels, out_channels, 3, style_channels)
        self.to_rgb = ModulatedToRGB(out_channels, style_channels, img_channels, upsample=upsample)

    def forward(self, x: torch.Tensor, img: torch.Tensor, styles: torch.Tensor,
                add_noise: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """styles: N×3×C (one code per layer)."""
        x = self.conv0(x, styles[:, 0], add_noise=add_noise)
        x = self.conv1(x, styles[:, 1], add_noise=add_noise)
        return x, self.to_rgb(x, styles[:, 2], img).float()


class SuperResolutionModule(nn.Module):
    def __init__(self, in_channels: int, in_size: int | None = None, hidden_size: int | None = None,
                 out_size: int | None = None, hidden_channels: int = 128, out_channels: int = 64,
                 style_channels: int = 512, sr_antialias: bool = True, fp16_enable: bool = False) -> None:
        super().__init__()
        who = "SuperResolutionModule"
        for name, low, high in (("hidden_size", in_size, hidden_size), ("out_size", hidden_size, out_size)):
            if high not in (low, 2 * low):
                raise ConfigError(f"{who}: {name} must equal the size before it or twice it, got {high} after {low}")
        self.in_size, self.sr_antialias, self.style_channels = in_size, sr_antialias, style_channels
        self.block0 = SynthesisBlock(in_channels, hidden_channels, style_channels, img_channels=3,
                                     upsample=hidden_size > in_size)
        self.block1 = SynthesisBlock(hidden_channels, out_channels, style_channels, img_channels=3,
                                     upsample=out_size > hidden_size)

    def forward(self, img: torch.Tensor, feature: torch.Tensor, styles: torch.Tensor | list,
                add_noise: bool = False) -> torch.Tensor:
        """Low-resolution image N×3×h×w and feature image N×C×h×w -> N×3×out_size² image; ``styles`` w
        (N×C) or W+ (N×L×C: its last code, as EG3D uses)."""
        if isinstance(styles, (list, tuple)):
            styles = styles[-1]
        if styles.dim() == 3:
            styles = styles[:, -1]
        styles = styles[:, None, :].expand(-1, 3, -1)
        if feature.shape[-1] != self.in_size:
            resize = dict(size=(self.in_size, self.in_size), mode="bilinear", align_corners=False,
                          antialias=self.sr_antialias)
            feature, img = F.interpolate(feature, **resize), F.interpolate(img, **resize)
        feature, img = self.block0(feature, img, styles, add_noise)
        _, img = self.block1(feature, img, styles, add_noise)
        return img


__all__ = ["SuperResolutionModule", "SynthesisBlock", "TriPlaneBackbone"]
