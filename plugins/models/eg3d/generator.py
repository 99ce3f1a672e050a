"""``TriplaneGenerator`` (alias ``EG3DGenerator``): MMagic 1.2.0's EG3D generator.

z and the camera (25 numbers: flattened 4×4 camera-to-world, flattened 3×3 intrinsics) -> w
(:class:`TriPlaneBackbone`'s mapping) -> three ``triplane_channels``-channel planes of
``triplane_size``² -> one ray per pixel of a ``neural_rendering_resolution``² image, volume-rendered
(:class:`EG3DRenderer`) into a feature image whose first three channels are the low-resolution image
-> :class:`SuperResolutionModule` -> the ``out_size``² image.

``channel_multiplier`` and ``channel_max`` (mgx's additions, MMagic's fixed values by default) set the
backbone's widths as in :class:`StyleGANv2Generator`, for reduced-width models.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from mgx.core.errors import ConfigError

from .backbone import SuperResolutionModule, TriPlaneBackbone
from .rays import sample_rays
from .renderer import EG3DRenderer


class TriplaneGenerator(nn.Module):
    def __init__(self, out_size: int, noise_size: int = 512, style_channels: int = 512, cond_size: int = 25,
                 cond_mapping_channels: int | None = None, cond_scale: float = 1, zero_cond_input: bool = False,
                 num_mlps: int = 8, triplane_size: int = 256, triplane_channels: int = 32, sr_in_size: int = 64,
                 sr_in_channels: int = 32, sr_hidden_channels: int = 128, sr_out_channels: int = 64,
                 sr_antialias: bool = True, sr_add_noise: bool = True, neural_rendering_resolution: int = 64,
                 renderer_cfg: dict | None = None, rgb2bgr: bool = False, init_cfg: dict | None = None,
                 channel_multiplier: int = 2, channel_max: int = 512) -> None:
        super().__init__()
        who = "TriplaneGenerator"
        if init_cfg is not None:
            raise ConfigError(f"{who}: init_cfg is not supported; load MMagic's checkpoint with load_from=")
        factor = out_size // sr_in_size if sr_in_size else 0
        if factor not in (2, 4, 8) or factor * sr_in_size != out_size:
            raise ConfigError(f"{who}: out_size must be 2, 4 or 8 times sr_in_size (MMagic's super-resolution "
                              f"factors), got out_size={out_size}, sr_in_size={sr_in_size}")
        self.out_size, self.noise_size, self.cond_size, self.style_size = out_size, noise_size, cond_size, style_channels
        self.cond_scale, self.zero_cond_input, self.sr_add_noise = cond_scale, zero_cond_input, sr_add_noise
        self.triplane_channels, self.rgb2bgr = triplane_channels, rgb2bgr
        self.neural_rendering_resolution = neural_rendering_resolution
        self.backbone = TriPlaneBackbone(noise_size=noise_size, out_size=triplane_size,
                                         out_channels=triplane_channels * 3, style_channels=style_channels,
                                         num_mlps=num_mlps, cond_size=cond_size, cond_scale=cond_scale,
                                         cond_mapping_channels=cond_mapping_channels, zero_cond_input=zero_cond_input,
                                         channel_multiplier=channel_multiplier, channel_max=channel_max)
        renderer_cfg = copy.deepcopy(dict(renderer_cfg or {}))
        renderer_cfg.setdefault("ray_start", _required(renderer_cfg, "ray_start", who))
        renderer_cfg.setdefault("ray_end", _required(renderer_cfg, "ray_end", who))
        renderer_cfg["decoder_cfg"] = dict(renderer_cfg.get("decoder_cfg") or {}, in_channels=triplane_channels,
                                           out_channels=sr_in_channels)
        self.renderer = EG3DRenderer(**renderer_cfg)
        self.sr_model = SuperResolutionModule(in_channels=sr_in_channels, in_size=sr_in_size,
                                              hidden_size=sr_in_size * 2 if factor in (4, 8) else sr_in_size,
                                              out_size=out_size, style_channels=style_channels,
                                              hidden_channels=sr_hidden_channels, out_channels=sr_out_channels,
                                              sr_antialias=sr_antialias)

    def sample_ray(self, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Ray origins and directions (N×res²×3) of the cameras in ``cond`` (N×25)."""
        return sample_rays(cond[:, :16].reshape(-1, 4, 4), cond[:, 16:25].reshape(-1, 3, 3),
                           self.neural_rendering_resolution)

    def forward(self, noise: torch.Tensor, label: torch.Tensor | None = None, truncation: float = 1,
                num_truncation_layer: int | None = None, input_is_latent: bool = False,
                plane: torch.Tensor | None = None, add_noise: bool = True, randomize_noise: bool = True,
                render_kwargs: dict | None = None) -> dict[str, torch.Tensor]:
        """``dict(fake_img, lr_img, depth, ray_directions, ray_origins)``; ``label`` the N×25 cameras,
        ``noise`` z (or w with ``input_is_latent``), ``plane`` pre-computed tri-planes."""
        if label is None:
            raise ValueError("TriplaneGenerator: label (the N×25 cameras the rays come from) is needed")
        batch = noise.shape[0]
        label = label.to(noise.device, torch.float32)
        styles = noise if input_is_latent else self.backbone.mapping(
            noise, label, truncation=truncation, num_truncation_layer=num_truncation_layer)
        ray_origins, ray_directions = self.sample_ray(label)
        if plane is None:
            plane = self.backbone.synthesis(styles, add_noise=add_noise, randomize_noise=randomize_noise)
        plane = plane.view(len(plane), 3, self.triplane_channels, plane.shape[-2], plane.shape[-1])
        features, depths, _ = self.renderer(plane, ray_origins, ray_directions, render_kwargs=render_kwargs)
        side = self.neural_rendering_resolution
        feature_image = features.permute(0, 2, 1).reshape(batch, features.shape[-1], side, side).contiguous()
        depth_image = depths.permute(0, 2, 1).reshape(batch, 1, side, side)
        rgb_image = feature_image[:, :3]
        sr_image = self.sr_model(rgb_image, feature_image, styles, add_noise=self.sr_add_noise)
        if self.rgb2bgr:
            sr_image, rgb_image = sr_image.flip(1), rgb_image.flip(1)
        return dict(fake_img=sr_image, lr_img=rgb_image, depth=depth_image, ray_directions=ray_directions,
                    ray_origins=ray_origins)


def _required(cfg: dict, key: str, who: str):
    if key not in cfg:
        raise ConfigError(f"{who}: renderer_cfg.{key} is required (a distance, or 'auto' for both ray_start and "
                          f"ray_end)")
    return cfg[key]


__all__ = ["TriplaneGenerator"]
