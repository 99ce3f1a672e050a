"""EG3D's neural volume renderer (MMagic 1.2.0's ``EG3DRenderer`` and ``EG3DDecoder``).

For each ray: ``depth_resolution`` stratified depths between ``ray_start`` and ``ray_end`` (or the ray's
entry and exit of the tri-plane cube when both are 'auto'); each point's feature is the mean over the
three planes of the bilinearly sampled plane feature at the point's projection (coordinates scaled by
``2 / box_warp`` into the planes' [-1, 1]); the decoder (a two-layer MLP) turns it into a density σ and
a colour feature. Volume rendering over the midpoints of consecutive samples (MipNeRF's ray marcher):

    σ̄ = softplus(σ_mid - 1),  α_i = 1 - exp(-σ̄_i δ_i),  w_i = α_i Π_{j<i} (1 - α_j + 1e-10),
    feature = Σ w_i c_i (+ 1 - Σ w_i with ``white_back``), then × 2 - 1;  depth = Σ w_i z_i / Σ w_i.

With ``depth_resolution_importance`` > 0 the weights, smoothed (max-pool then mean over neighbours,
+0.01), define where ``depth_resolution_importance`` more depths are drawn (inverse-transform
sampling); coarse and fine samples are merged by depth and rendered together.

``projection_mode='Official'`` keeps EG3D's published plane projections (xy, xz, zx; the third is not
yz: https://github.com/NVlabs/eg3d/issues/67), which its checkpoints were trained with.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError

from ..stylegan3.modules import FullyConnectedLayer
from .rays import get_ray_limits_box, inverse_transform_sampling, linspace_batch


class EG3DDecoder(nn.Module):
    """Mean tri-plane feature -> ``{'rgb': sigmoid·(1 + 2 pad) - pad, 'sigma': raw density}``."""

    def __init__(self, in_channels: int, out_channels: int = 32, hidden_channels: int = 64,
                 lr_multiplier: float = 1, rgb_padding: float = 0.001) -> None:
        super().__init__()
        self.net = nn.Sequential(FullyConnectedLayer(in_channels, hidden_channels, lr_multiplier=lr_multiplier),
                                 nn.Softplus(),
                                 FullyConnectedLayer(hidden_channels, 1 + out_channels, lr_multiplier=lr_multiplier))
        self.rgb_padding = rgb_padding

    def forward(self, sampled_features: torch.Tensor) -> dict[str, torch.Tensor]:
        """N×planes×M×C features -> rgb N×M×out_channels, sigma N×M×1."""
        features = sampled_features.mean(1)
        n, m, c = features.shape
        out = self.net(features.reshape(-1, c)).view(n, m, -1)
        rgb = torch.sigmoid(out[..., 1:]) * (1 + 2 * self.rgb_padding) - self.rgb_padding
        return {"rgb": rgb, "sigma": out[..., 0:1]}


class EG3DRenderer(nn.Module):
    OVERRIDABLE = ("ray_start", "ray_end", "box_warp", "depth_resolution", "depth_resolution_importance",
                   "density_noise")

    def __init__(self, decoder_cfg: dict, ray_start: float | str, ray_end: float | str, box_warp: float = 1,
                 depth_resolution: int = 64, depth_resolution_importance: int = 64, density_noise: float = 0,
                 clamp_mode: str = "softplus", white_back: bool = True, projection_mode: str = "Official") -> None:
        super().__init__()
        who = "EG3DRenderer"
        if clamp_mode != "softplus":
            raise ConfigError(f"{who}: clamp_mode must be 'softplus' (the only one MMagic has), got {clamp_mode!r}")
        _check_limits(ray_start, ray_end, who)
        if isinstance(depth_resolution, bool) or not isinstance(depth_resolution, int) or depth_resolution < 2:
            raise ConfigError(f"{who}: depth_resolution must be an int ≥ 2, got {depth_resolution!r}")
        self.decoder = EG3DDecoder(**decoder_cfg)
        self.ray_start, self.ray_end, self.box_warp = ray_start, ray_end, box_warp
        self.depth_resolution, self.depth_resolution_importance = depth_resolution, depth_resolution_importance
        self.density_noise, self.clamp_mode, self.white_back = density_noise, clamp_mode, white_back
        self.projection_mode = projection_mode

    def get_value(self, target: str, render_kwargs: dict | None = None) -> Any:
        return getattr(self, target) if render_kwargs is None else render_kwargs.get(target, getattr(self, target))

    def forward(self, planes: torch.Tensor, ray_origins: torch.Tensor, ray_directions: torch.Tensor,
                render_kwargs: dict | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """planes N×3×C×H×W, rays N×R×3 -> (features N×R×F in [-1, 1], depths N×R×1, weight sums N×R×1).
        ``render_kwargs`` overrides any of :attr:`OVERRIDABLE` for this call."""
        value = lambda name: self.get_value(name, render_kwargs)  # noqa: E731
        ray_start, ray_end, box_warp = value("ray_start"), value("ray_end"), value("box_warp")
        depth_resolution, importance = value("depth_resolution"), value("depth_resolution_importance")
        density_noise = value("density_noise")
        if ray_start == ray_end == "auto":
            ray_start, ray_end = get_ray_limits_box(ray_origins, ray_directions, box_side_length=box_warp)
            valid = ray_end > ray_start
            if bool(valid.any()):  # rays that miss the cube get the others' range
                ray_start[~valid] = ray_start[valid].min()
                ray_end[~valid] = ray_start[valid].max()
        else:
            _check_limits(ray_start, ray_end, "EG3DRenderer")
        depths = self.sample_stratified(ray_origins, ray_start, ray_end, depth_resolution)
        colors, densities = self._decode(planes, ray_origins, ray_directions, depths, density_noise, box_warp)
        if importance:
            _, _, weights = self.volume_rendering(colors, densities, depths)
            fine_depths = self.sample_importance(depths, weights, importance)
            fine_colors, fine_densities = self._decode(planes, ray_origins, ray_directions, fine_depths,
                                                       density_noise, box_warp)
            depths, colors, densities = self.unify_samples(depths, colors, densities, fine_depths, fine_colors,
                                                           fine_densities)
        rgb, depth, weights = self.volume_rendering(colors, densities, depths)
        return rgb, depth, weights.sum(2)

    def _decode(self, planes, origins, directions, depths, density_noise, box_warp):
        batch, rays, samples, _ = depths.shape
        points = (origins.unsqueeze(-2) + depths * directions.unsqueeze(-2)).reshape(batch, -1, 3)
        out = self.neural_rendering(planes, points, density_noise, box_warp)
        return (out["rgb"].reshape(batch, rays, samples, -1), out["sigma"].reshape(batch, rays, samples, 1))

    def sample_stratified(self, ray_origins: torch.Tensor, ray_start, ray_end, depth_resolution: int) -> torch.Tensor:
        """N×R×D×1 depths: D evenly spaced from start to end, each jittered by U(0, spacing)."""
        n, m, _ = ray_origins.shape
        if isinstance(ray_start, torch.Tensor):
            depths = linspace_batch(ray_start, ray_end, depth_resolution).permute(1, 2, 0, 3)
            spacing = ((ray_end - ray_start) / (depth_resolution - 1))[..., None]
        else:
            depths = torch.linspace(ray_start, ray_end, depth_resolution, device=ray_origins.device,
                                    dtype=ray_origins.dtype).reshape(1, 1, -1, 1).repeat(n, m, 1, 1)
            spacing = (ray_end - ray_start) / (depth_resolution - 1)
        return depths + torch.rand_like(depths) * spacing

    def neural_rendering(self, planes: torch.Tensor, sample_coordinates: torch.Tensor, density_noise: float,
                         box_warp: float) -> dict[str, torch.Tensor]:
        out = self.decoder(self.sample_from_planes(planes, sample_coordinates, box_warp=box_warp))
        if density_noise > 0:
            out["sigma"] = out["sigma"] + torch.randn_like(out["sigma"]) * density_noise
        return out

    def sample_from_planes(self, plane_features: torch.Tensor, coordinates: torch.Tensor,
                           interp_mode: str = "bilinear", box_warp: float | None = None) -> torch.Tensor:
        """N×3×C×H×W planes, N×M×3 points -> N×3×M×C features (zeros outside the planes)."""
        n, planes, c, h, w = plane_features.shape
        m = coordinates.shape[1]
        projected = self.project_onto_planes((2 / box_warp) * coordinates)[:, None]
        features = F.grid_sample(plane_features.reshape(n * planes, c, h, w), projected.to(plane_features.dtype),
                                 mode=interp_mode, padding_mode="zeros", align_corners=False)
        return features.permute(0, 3, 2, 1).reshape(n, planes, m, c)

    def project_onto_planes(self, coordinates: torch.Tensor) -> torch.Tensor:
        """N×M×3 points -> (N·3)×M×2 plane coordinates, plane-major within a sample: (x, y), (x, z) and
        (z, x) ('Official') or (z, y)."""
        third = (2, 0) if self.projection_mode.upper() == "OFFICIAL" else (2, 1)
        stacked = torch.stack([coordinates[..., (0, 1)], coordinates[..., (0, 2)], coordinates[..., third]], dim=1)
        return stacked.reshape(-1, *stacked.shape[2:])

    def unify_samples(self, depths_c, colors_c, densities_c, depths_f, colors_f, densities_f):
        """Coarse and fine samples merged and sorted by depth along each ray."""
        depths = torch.cat([depths_c, depths_f], dim=-2)
        colors = torch.cat([colors_c, colors_f], dim=-2)
        densities = torch.cat([densities_c, densities_f], dim=-2)
        _, order = torch.sort(depths, dim=-2)
        return (torch.gather(depths, -2, order), torch.gather(colors, -2, order.expand(-1, -1, -1, colors.shape[-1])),
                torch.gather(densities, -2, order))

    def volume_rendering(self, colors: torch.Tensor, densities: torch.Tensor,
                         depths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(N×R×F features in [-1, 1], N×R×1 depths clamped to the samples' range, N×R×(D-1)×1 weights)."""
        deltas = depths[:, :, 1:] - depths[:, :, :-1]
        colors_mid = (colors[:, :, :-1] + colors[:, :, 1:]) / 2
        densities_mid = F.softplus((densities[:, :, :-1] + densities[:, :, 1:]) / 2 - 1)  # -1: a better start
        depths_mid = (depths[:, :, :-1] + depths[:, :, 1:]) / 2
        alpha = 1 - torch.exp(-densities_mid * deltas)
        transmit = torch.cat([torch.ones_like(alpha[:, :, :1]), 1 - alpha + 1e-10], -2)
        weights = alpha * torch.cumprod(transmit, -2)[:, :, :-1]
        rgb = torch.sum(weights * colors_mid, -2)
        total = weights.sum(2)
        depth = torch.nan_to_num(torch.sum(weights * depths_mid, -2) / total, float("inf"))
        depth = torch.clamp(depth, torch.min(depths), torch.max(depths))
        if self.white_back:
            rgb = rgb + 1 - total
        return rgb * 2 - 1, depth, weights

    @torch.no_grad()
    def sample_importance(self, z_vals: torch.Tensor, weights: torch.Tensor, n_importance: int) -> torch.Tensor:
        """N×R×n_importance×1 depths drawn where the coarse ``weights`` (N×R×(D-1)×1) are high."""
        batch, rays, samples, _ = z_vals.shape
        z_vals = z_vals.reshape(batch * rays, samples)
        weights = weights.reshape(batch * rays, 1, -1).float()
        weights = F.avg_pool1d(F.max_pool1d(weights, 2, 1, padding=1), 2, 1).squeeze(1) + 0.01
        z_mid = 0.5 * (z_vals[:, :-1] + z_vals[:, 1:])
        fine = inverse_transform_sampling(z_mid, weights[:, 1:-1].to(z_mid.dtype), n_importance)
        return fine.reshape(batch, rays, n_importance, 1)


def _check_limits(ray_start, ray_end, who: str) -> None:
    if ray_start == ray_end == "auto":
        return
    if isinstance(ray_start, bool) or isinstance(ray_end, bool) or not isinstance(ray_start, (int, float)) \
            or not isinstance(ray_end, (int, float)):
        raise ConfigError(f"{who}: ray_start and ray_end must both be numbers or both 'auto', got {ray_start!r} "
                          f"and {ray_end!r}")
    if not ray_start < ray_end:
        raise ConfigError(f"{who}: ray_start ({ray_start}) must be less than ray_end ({ray_end})")


__all__ = ["EG3DDecoder", "EG3DRenderer"]
