"""Sliced Wasserstein distance over Laplacian-pyramid patch descriptors (Karras et al. 2018).

Images enter in [-1, 1]. Each pyramid level contributes 128 random 7×7
patches per image; descriptors are normalised per channel over the whole set,
then compared by 4 × 128 random 1-D projections (sorted, mean |Δ|).

The pieces below let a caller do this without holding every descriptor:
``ChannelMoments`` gathers the per-channel mean/std while descriptors stream
in, and ``projected_distance_sums`` compares sorted projections of any block
of directions, so descriptors can be projected block by block from a spool.
"""
from __future__ import annotations

import numpy as np
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


class ChannelMoments:
    """Running per-channel count, mean and sum of squared deviations (float64, Chan's merge).

    Descriptors are rows of C·patch² values, channel-major; every value of a
    channel counts (all patch positions), as in ``normalise_descriptors``.
    """

    def __init__(self, channels: int) -> None:
        self.channels = channels
        self.count = 0
        self.mean = torch.zeros(channels, dtype=torch.float64)
        self.m2 = torch.zeros(channels, dtype=torch.float64)

    def update(self, desc: torch.Tensor) -> None:
        values = desc.detach().reshape(desc.shape[0], self.channels, -1)
        count = values.shape[0] * values.shape[2]
        if count == 0:
            return
        # Column sums first (a fast contiguous reduction), then the patch positions of each channel.
        mean = values.sum(dim=0, dtype=torch.float64).sum(dim=1) / count
        # deviations from the float64 batch mean, squared in the rows' precision, summed in float64
        deviations = (values - mean.to(values.dtype)[None, :, None]).square_()
        m2 = deviations.sum(dim=0, dtype=torch.float64).sum(dim=1)
        m2 -= count * (mean - mean.to(values.dtype).to(torch.float64)).square()  # the rounded mean's offset
        self._merge(count, mean, m2)

    def merge(self, other: "ChannelMoments") -> "ChannelMoments":
        if other.count:
            self._merge(other.count, other.mean, other.m2)
        return self

    def _merge(self, count: int, mean: torch.Tensor, m2: torch.Tensor) -> None:
        total = self.count + count
        delta = mean - self.mean
        self.mean = self.mean + delta * (count / total)
        self.m2 = self.m2 + m2 + delta.square() * (self.count * count / total)
        self.count = total

    def mean_std(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-channel mean and unbiased std (float64)."""
        if self.count < 2:
            raise ValueError(f"need at least 2 values per channel for a std, got {self.count}")
        return self.mean, (self.m2 / (self.count - 1)).sqrt()


def projection_directions(dim: int, generator: torch.Generator, repeats: int = 4,
                          dirs_per_repeat: int = 128) -> torch.Tensor:
    """dim × (repeats·dirs_per_repeat) float32 unit columns, drawn repeat by repeat in float64.

    The same draws as ``sliced_wasserstein`` makes with this generator.
    """
    blocks = []
    for _ in range(repeats):
        dirs = torch.randn(dim, dirs_per_repeat, generator=generator, dtype=torch.float64)
        blocks.append((dirs / dirs.norm(dim=0, keepdim=True)).to(torch.float32))
    return torch.cat(blocks, dim=1)


def project_normalised(desc: torch.Tensor, mean: torch.Tensor, std: torch.Tensor,
                       directions: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """Projections (directions × rows) of descriptors normalised with per-channel mean/std.

    (x − m)/s · d = x · (d/s) − (m/s) · d: the normalisation is folded into the
    directions (scaled in float64), so the rows are read once, by one GEMM.
    """
    channels = mean.numel()
    per_value_std = std.to(torch.float64).repeat_interleave(desc.shape[1] // channels)
    per_value_mean = mean.to(torch.float64).repeat_interleave(desc.shape[1] // channels)
    scaled = directions.to(torch.float64) / per_value_std[:, None]
    offsets = (per_value_mean @ scaled).to(desc.dtype)
    projections = (scaled.T.to(desc.dtype) @ desc.T).sub_(offsets[:, None])
    # matmul(out=) into a column slice of a larger buffer takes a slow path: compute, then copy
    return projections if out is None else out.copy_(projections)


def sort_rows_in_place(projections: torch.Tensor) -> torch.Tensor:
    """Sort each row of a contiguous CPU float tensor in place.

    numpy's in-place sort needs no index tensor and is ~20× faster than
    torch.sort on CPU for these sizes (vectorised sorting networks).
    """
    if projections.device.type != "cpu" or not projections.is_contiguous():
        projections.copy_(torch.sort(projections, dim=1).values)
        return projections
    projections.numpy().sort(axis=1)
    return projections


def projected_distance_sums(sorted_a: torch.Tensor, sorted_b: torch.Tensor) -> torch.Tensor:
    """Per direction (row): Σ |sorted_a − sorted_b| in float64 over the matched samples.

    Rows hold one direction's sorted projections; when the sets differ in size
    the longer one is read at evenly spaced quantiles (as ``_match_lengths``).
    Divide by the matched length for the mean.
    """
    if sorted_a.shape[1] != sorted_b.shape[1]:
        short, long_ = (sorted_a, sorted_b) if sorted_a.shape[1] < sorted_b.shape[1] else (sorted_b, sorted_a)
        pick = torch.linspace(0, long_.shape[1] - 1, short.shape[1]).round().long().to(long_.device)
        sorted_a, sorted_b = short, long_[:, pick]
    sums = torch.empty(sorted_a.shape[0], dtype=torch.float64, device=sorted_a.device)
    step = max(1, (1 << 24) // max(1, sorted_a.shape[1]))  # |Δ| of a few rows at a time: a small temporary
    for row in range(0, sorted_a.shape[0], step):
        sums[row:row + step] = (sorted_a[row:row + step] - sorted_b[row:row + step]).abs().sum(dim=1, dtype=torch.float64)
    return sums
