"""Rays and depth samples of EG3D's volume renderer (MMagic 1.2.0's ``ray_sampler`` and ``eg3d_utils``).

* ``sample_rays``: one ray per pixel centre of a ``resolution``² image, from the camera's position
  through the pixel lifted to depth 1 with the intrinsics (in units of the image side), normalised.
* ``get_ray_limits_box``: where rays enter and leave the axis-aligned cube of side ``box_side_length``
  (slab method; -1 / -2 for a ray that misses it).
* ``inverse_transform_sampling``: depths drawn from the piecewise-constant distribution ``weights`` over
  ``bins`` (NeRF's hierarchical sampling).
* ``linspace_batch``: ``numpy.linspace`` over tensors of start and stop values.
"""
from __future__ import annotations

import torch
from torch.nn import functional as F


def sample_rays(cam2world: torch.Tensor, intrinsics: torch.Tensor, resolution: int) -> tuple[torch.Tensor, torch.Tensor]:
    """N×4×4 camera-to-world and N×3×3 intrinsics -> (origins, unit directions), both N×resolution²×3,
    pixels in row-major order (x fastest)."""
    batch, count = cam2world.shape[0], resolution ** 2
    dtype, device = cam2world.dtype, cam2world.device
    cam_in_world = cam2world[:, :3, 3]
    fx, fy = intrinsics[:, 0, 0, None], intrinsics[:, 1, 1, None]
    cx, cy = intrinsics[:, 0, 2, None], intrinsics[:, 1, 2, None]
    centres = (torch.arange(resolution, dtype=dtype, device=device) + 0.5) / resolution
    y_cam, x_cam = torch.meshgrid(centres, centres, indexing="ij")
    x_cam, y_cam = x_cam.reshape(1, -1), y_cam.reshape(1, -1)
    z_cam = torch.ones((batch, count), dtype=dtype, device=device)
    points = torch.stack(((x_cam - cx) / fx * z_cam, (y_cam - cy) / fy * z_cam, z_cam, torch.ones_like(z_cam)),
                         dim=-1)
    in_world = torch.bmm(cam2world, points.transpose(1, 2)).transpose(1, 2)[:, :, :3]
    directions = F.normalize(in_world - cam_in_world[:, None, :], dim=2)
    return cam_in_world[:, None, :].expand(-1, count, -1).contiguous(), directions


def get_ray_limits_box(rays_o: torch.Tensor, rays_d: torch.Tensor,
                       box_side_length: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(t_min, t_max), each ``rays_o.shape[:-1] + (1,)``: the entry and exit distance of each ray in the
    cube [-side/2, side/2]³; a ray that misses gets -1 and -2."""
    shape = rays_o.shape
    origins, directions = rays_o.detach().reshape(-1, 3), rays_d.detach().reshape(-1, 3)
    half = box_side_length / 2
    bounds = torch.tensor([[-half] * 3, [half] * 3], dtype=origins.dtype, device=origins.device)
    inverse = 1 / directions
    sign = (inverse < 0).long()
    valid = torch.ones(origins.shape[:-1], dtype=torch.bool, device=origins.device)
    t_min = t_max = None
    for axis in range(3):
        near = (bounds.index_select(0, sign[:, axis])[:, axis] - origins[:, axis]) * inverse[:, axis]
        far = (bounds.index_select(0, 1 - sign[:, axis])[:, axis] - origins[:, axis]) * inverse[:, axis]
        if t_min is None:
            t_min, t_max = near, far
            continue
        valid[torch.logical_or(t_min > far, near > t_max)] = False
        t_min, t_max = torch.max(t_min, near), torch.min(t_max, far)
    t_min = t_min.masked_fill(~valid, -1)
    t_max = t_max.masked_fill(~valid, -2)
    return t_min.reshape(*shape[:-1], 1), t_max.reshape(*shape[:-1], 1)


def inverse_transform_sampling(bins: torch.Tensor, weights: torch.Tensor, n_importance: int,
                               deterministic: bool = False, eps: float = 1e-5) -> torch.Tensor:
    """R×n_importance depths: ``u`` (uniform, or evenly spaced when ``deterministic``) through the inverse
    CDF of ``weights`` (R×B, + ``eps``) over the R×(B+1) bin edges ``bins``, linear inside a bin."""
    rays, count = weights.shape
    weights = weights + eps
    cdf = torch.cumsum(weights / weights.sum(-1, keepdim=True), -1)
    cdf = torch.cat([torch.zeros_like(cdf[:, :1]), cdf], -1)
    if deterministic:
        u = torch.linspace(0, 1, n_importance, device=bins.device).expand(rays, n_importance)
    else:
        u = torch.rand(rays, n_importance, device=bins.device)
    u = u.to(cdf.dtype).contiguous()
    index = torch.searchsorted(cdf, u, right=True)
    below, above = (index - 1).clamp_min(0), index.clamp_max(count)
    pairs = torch.stack([below, above], -1).view(rays, 2 * n_importance)
    cdf_pair = torch.gather(cdf, 1, pairs).view(rays, n_importance, 2)
    bin_pair = torch.gather(bins, 1, pairs).view(rays, n_importance, 2)
    denominator = cdf_pair[..., 1] - cdf_pair[..., 0]
    # a bin of (near) zero weight is never drawn; any denominator will do there
    denominator = torch.where(denominator < eps, torch.ones_like(denominator), denominator)
    fraction = (u - cdf_pair[..., 0]) / denominator
    return bin_pair[..., 0] + fraction * (bin_pair[..., 1] - bin_pair[..., 0])


def linspace_batch(start: torch.Tensor, stop: torch.Tensor, num: int) -> torch.Tensor:
    """num × start.shape: ``num`` evenly spaced values from ``start`` to ``stop`` inclusive, element-wise."""
    steps = torch.arange(num, dtype=start.dtype, device=start.device) / (num - 1)
    steps = steps.reshape(-1, *([1] * start.dim()))
    return start[None] + steps * (stop - start)[None]


__all__ = ["get_ray_limits_box", "inverse_transform_sampling", "linspace_batch", "sample_rays"]
