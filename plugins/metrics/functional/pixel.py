"""Pixel-wise paired metrics (PSNR, MAE, MSE) and the Y-channel conversion."""
from __future__ import annotations

import torch

# ITU-R BT.601 luma for [0, 255] RGB, as mmcv's rgb2ycbcr(y_only=True) × 255.
_Y_COEFFS = (65.481 / 255.0, 128.553 / 255.0, 24.966 / 255.0)


def rgb_to_y(images: torch.Tensor) -> torch.Tensor:
    """N×3×H×W RGB in [0, 255] -> N×1×H×W luma Y in [16, 235]."""
    if images.shape[1] != 3:
        raise ValueError(f"convert_to='Y' needs 3-channel RGB images, got {images.shape[1]} channel(s)")
    r, g, b = images[:, 0:1], images[:, 1:2], images[:, 2:3]
    return r * _Y_COEFFS[0] + g * _Y_COEFFS[1] + b * _Y_COEFFS[2] + 16.0


def _masked_mean(values: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    if mask is None:
        return values.flatten(1).mean(dim=1)
    mask = mask.to(values.dtype).expand_as(values)
    return (values * mask).flatten(1).sum(dim=1) / mask.flatten(1).sum(dim=1).clamp(min=1e-12)


def psnr(pred: torch.Tensor, target: torch.Tensor, data_range: float = 255.0) -> torch.Tensor:
    """PSNR in dB of each image pair (N values); identical images give +inf."""
    err = (pred.to(torch.float64) - target.to(torch.float64)).square().flatten(1).mean(dim=1)
    return 10 * torch.log10(data_range ** 2 / err)


def mae(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None,
        scale: float = 255.0) -> torch.Tensor:
    """Mean absolute error of each pair after dividing by ``scale`` (N values)."""
    diff = (pred.to(torch.float64) - target.to(torch.float64)).abs() / scale
    return _masked_mean(diff, mask)


def mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None,
        scale: float = 255.0) -> torch.Tensor:
    """Mean squared error of each pair after dividing by ``scale`` (N values)."""
    diff = ((pred.to(torch.float64) - target.to(torch.float64)) / scale).square()
    return _masked_mean(diff, mask)
