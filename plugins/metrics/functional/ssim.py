"""SSIM and MS-SSIM on N×C×H×W tensors (float32 filtering of centred images, float64 formula).

Conventions follow pytorch-msssim (valid Gaussian filtering, per-channel
statistics, 2×2 average pooling padded on odd sizes, negative terms clipped
to 0 before the fractional powers), with MMagic's rule for small images: the
Gaussian window shrinks to min(11, H, W) with its sigma scaled alike, so
MS-SSIM also works at 64 and 32 px where the reference libraries refuse.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def gaussian_window(size: int, sigma: float, dtype=torch.float64, device=None) -> torch.Tensor:
    """Normalised 1-D Gaussian of ``size`` taps centred between taps when size is even."""
    coords = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    window = torch.exp(-coords.square() / (2 * sigma * sigma))
    return window / window.sum()


def _blur_moments(x: torch.Tensor, y: torch.Tensor, window: torch.Tensor) -> list[torch.Tensor]:
    """Gaussian-filtered (valid) x, y, x², y², xy of the centred float32 images, returned in float64.

    One depthwise convolution over the five maps stacked as channels, with the
    2-D window (oneDNN's depthwise kernel beats two 1-D passes on CPU). Both
    images of a pair are first shifted by the first one's mean: variances and
    covariance do not change, and float32 round-off of E[x²] − E[x]² drops to
    ~1e-8 relative (piq and pytorch-msssim, uncentred: ~1e-6).
    """
    channels = x.shape[1]
    size = window.numel()
    shift = x.mean(dim=(2, 3), keepdim=True)
    xc, yc = x - shift, y - shift
    maps = torch.cat([xc, yc, xc * xc, yc * yc, xc * yc], dim=1)
    kernel = torch.outer(window, window).to(torch.float32).view(1, 1, size, size).expand(5 * channels, 1, size, size)
    blurred = F.conv2d(maps, kernel, groups=5 * channels).to(torch.float64)
    mu_x, mu_y, xx, yy, xy = blurred.split(channels, dim=1)
    shift = shift.to(torch.float64)
    return [mu_x + shift, mu_y + shift, xx - mu_x.square(), yy - mu_y.square(), xy - mu_x * mu_y]


def _window_for(height: int, width: int, win_size: int, sigma: float, device) -> torch.Tensor:
    size = min(win_size, height, width)
    return gaussian_window(size, sigma * size / win_size, device=device)


def ssim_and_contrast(x: torch.Tensor, y: torch.Tensor, window: torch.Tensor, data_range: float = 255.0,
                      k1: float = 0.01, k2: float = 0.03) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image, per-channel (N×C) mean SSIM and mean contrast-structure term (float64)."""
    c1 = (k1 * data_range) ** 2
    c2 = (k2 * data_range) ** 2
    mu_x, mu_y, var_x, var_y, cov_xy = _blur_moments(x.to(torch.float32), y.to(torch.float32), window)
    contrast = (2 * cov_xy + c2) / (var_x + var_y + c2)
    luminance = (2 * mu_x * mu_y + c1) / (mu_x.square() + mu_y.square() + c1)
    return (luminance * contrast).flatten(2).mean(-1), contrast.flatten(2).mean(-1)


def _check_pair(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(f"expected two N×C×H×W tensors of one shape, got {tuple(x.shape)} and {tuple(y.shape)}")


def ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 255.0, win_size: int = 11,
         sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03) -> torch.Tensor:
    """SSIM of each image pair (N values), averaged over channels and valid positions."""
    _check_pair(x, y)
    x, y = x.to(torch.float32), y.to(torch.float32)
    window = _window_for(x.shape[2], x.shape[3], win_size, sigma, x.device)
    return ssim_and_contrast(x, y, window, data_range, k1, k2)[0].mean(dim=1)


def ms_ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 255.0,
            weights: tuple[float, ...] = MS_SSIM_WEIGHTS, win_size: int = 11, sigma: float = 1.5,
            k1: float = 0.01, k2: float = 0.03, channel_mean_first: bool = False) -> torch.Tensor:
    """Multi-scale SSIM of each image pair (N values).

    Per channel Π relu(cs_l)^w_l · relu(ssim_L)^w_L, then the channel mean; with
    ``channel_mean_first`` each scale's term is averaged over channels before the
    powers and the product (MMagic's convention).
    """
    _check_pair(x, y)
    x, y = x.to(torch.float32), y.to(torch.float32)
    levels = len(weights)
    weight = torch.tensor(weights, dtype=torch.float64, device=x.device).view(-1, 1, 1)
    terms = []
    for level in range(levels):
        window = _window_for(x.shape[2], x.shape[3], win_size, sigma, x.device)
        ssim_pc, cs_pc = ssim_and_contrast(x, y, window, data_range, k1, k2)
        if channel_mean_first:
            ssim_pc, cs_pc = ssim_pc.mean(dim=1, keepdim=True), cs_pc.mean(dim=1, keepdim=True)
        if level < levels - 1:
            terms.append(torch.relu(cs_pc))
            padding = [s % 2 for s in x.shape[2:]]
            x = F.avg_pool2d(x, kernel_size=2, padding=padding)
            y = F.avg_pool2d(y, kernel_size=2, padding=padding)
    terms.append(torch.relu(ssim_pc))
    return torch.prod(torch.stack(terms) ** weight, dim=0).mean(dim=1)
