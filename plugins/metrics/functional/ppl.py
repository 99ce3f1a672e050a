"""Helpers of Perceptual Path Length: latent interpolation, crop and robust mean."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return a + (b - a) * t


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between the directions of a and b (unit-norm output)."""
    a = a / a.norm(dim=-1, keepdim=True)
    b = b / b.norm(dim=-1, keepdim=True)
    d = (a * b).sum(dim=-1, keepdim=True).clamp(-1.0, 1.0)
    p = t * torch.acos(d)
    c = b - d * a
    c = c / c.norm(dim=-1, keepdim=True).clamp(min=1e-12)
    out = a * torch.cos(p) + c * torch.sin(p)
    return out / out.norm(dim=-1, keepdim=True)


def face_crop(images: torch.Tensor) -> torch.Tensor:
    """StyleGAN's central face crop: rows 3c:7c, cols 2c:6c with c = H // 8."""
    c = images.shape[2] // 8
    return images[:, :, c * 3:c * 7, c * 2:c * 6]


def stylegan_lpips_downsample(images: torch.Tensor) -> torch.Tensor:
    """StyleGAN's PPL: above 256 px, area-downsample by the integer factor H // 256."""
    factor = images.shape[2] // 256
    return F.avg_pool2d(images, factor) if factor > 1 else images


def mmagic_lpips_downsample(images: torch.Tensor) -> torch.Tensor:
    """MMagic's PPL: when H // 256 > 1, bilinear resize (no antialiasing) to exactly 256 × 256."""
    if images.shape[2] // 256 > 1:
        return F.interpolate(images, size=(256, 256), mode="bilinear", align_corners=False)
    return images


def robust_mean(distances: np.ndarray, low: float = 1.0, high: float = 99.0) -> float:
    """Mean of the values between the ``low`` and ``high`` percentiles (inclusive)."""
    lo = np.percentile(distances, low, method="lower")
    hi = np.percentile(distances, high, method="higher")
    kept = distances[(distances >= lo) & (distances <= hi)]
    return float(kept.mean())
