"""Sliced Wasserstein distance over Laplacian-pyramid patch descriptors (Karras et al. 2018).

Images enter in [-1, 1]. Each pyramid level contributes 128 random 7×7
patches per image; descriptors are normalised per channel over the whole set,
then compared by 4 × 128 random 1-D projections (sorted, mean |Δ|).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])


def _binomial_kernel(channels: int, dtype, device) -> torch.Tensor:
    k1 = _BINOMIAL.to(dtype=dtype, device=device)
    k2 = torch.outer(k1, k1)
    k2 = k2 / k2.sum()
    return k2.expand(channels, 1, 5, 5).contiguous()


def _blur(x: torch.Tensor, kernel: torch.Tensor, stride: int = 1) -> torch.Tensor:
    # Zero padding, as MMagic's SWD (so its numbers are reproduced).
    return F.conv2d(x, kernel, padding=2, stride=stride, groups=x.shape[1])


def pyramid_resolutions(size: int, min_size: int = 16, max_levels: int = 4) -> list[int]:
    """Resolutions of the pyramid levels: size, size/2, ... while ≥ min_size (at most max_levels)."""
    levels = []
    while size >= min_size and len(levels) < max_levels:
        levels.append(size)
        size //= 2
    return levels


def laplacian_pyramid(images: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """Band-pass levels (finest first) followed by the coarsest low-pass level.

    Down: blur + stride 2; up: nearest ×2 then blur (MMagic's construction).
    """
    kernel = _binomial_kernel(images.shape[1], images.dtype, images.device)
    gaussians = [images]
    for _ in range(levels - 1):
        gaussians.append(_blur(gaussians[-1], kernel, stride=2))
    pyramid = []
    for fine, coarse in zip(gaussians[:-1], gaussians[1:]):
        up = _blur(F.interpolate(coarse, scale_factor=2), kernel)
        pyramid.append(fine - up)
    pyramid.append(gaussians[-1])
    return pyramid


def random_patches(level: torch.Tensor, generators: list[torch.Generator], per_image: int = 128,
                   patch: int = 7) -> torch.Tensor:
    """(N·per_image)×(C·patch²) descriptors at positions drawn from each image's generator."""
    n, c, h, w = level.shape
    ys = torch.stack([torch.randint(0, h - patch + 1, (per_image,), generator=g) for g in generators])
    xs = torch.stack([torch.randint(0, w - patch + 1, (per_image,), generator=g) for g in generators])
    steps = torch.arange(patch)
    rows = (ys[:, :, None] + steps)[:, :, None, :, None]                 # N×P×1×patch×1
    cols = (xs[:, :, None] + steps)[:, :, None, None, :]                 # N×P×1×1×patch
    chans = torch.arange(c)[None, None, :, None, None]                   # 1×1×C×1×1
    flat = (chans * h + rows) * w + cols                                 # N×P×C×patch×patch
    picked = level.reshape(n, -1).gather(1, flat.reshape(n, -1).to(level.device))
    return picked.reshape(n * per_image, c * patch * patch)


def normalise_descriptors(desc: torch.Tensor, channels: int) -> torch.Tensor:
    """Zero mean, unit std per channel over all descriptors and patch positions."""
    shaped = desc.reshape(desc.shape[0], channels, -1)
    mean = shaped.mean(dim=(0, 2), keepdim=True)
    std = shaped.std(dim=(0, 2), keepdim=True)  # unbiased, as MMagic/ProGAN
    return ((shaped - mean) / std).reshape(desc.shape[0], -1)


def _match_lengths(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Equal-length sorted projections: the longer one is read at evenly spaced quantiles."""
    if a.shape[0] == b.shape[0]:
        return a, b
    short, long_ = (a, b) if a.shape[0] < b.shape[0] else (b, a)
    pick = torch.linspace(0, long_.shape[0] - 1, short.shape[0]).round().long().to(long_.device)
    return (short, long_[pick]) if short is a else (long_[pick], short)


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, generator: torch.Generator,
                       repeats: int = 4, dirs_per_repeat: int = 128) -> float:
    """Mean over repeats of mean |sorted(a·d) − sorted(b·d)| for random unit directions d."""
    results = []
    for _ in range(repeats):
        dirs = torch.randn(a.shape[1], dirs_per_repeat, generator=generator, dtype=torch.float64)
        dirs = (dirs / dirs.norm(dim=0, keepdim=True)).to(device=a.device, dtype=a.dtype)
        # Sorting contiguous rows (projections × samples) is several times faster than columns.
        proj_a = torch.sort(dirs.T @ a.T, dim=1).values.T
        proj_b = torch.sort(dirs.T @ b.T, dim=1).values.T
        proj_a, proj_b = _match_lengths(proj_a, proj_b)
        results.append(float((proj_a - proj_b).abs().mean()))
    return sum(results) / len(results)
