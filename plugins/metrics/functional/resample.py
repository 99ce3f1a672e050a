"""Reference transforms of Equivariance's translations (integer and fractional), each with the mask
of pixels whose source lies inside the original image. Rotation: ``rotation.py``."""
from __future__ import annotations

import math

import torch


def _shift_zero(x: torch.Tensor, k: int, dim: int) -> torch.Tensor:
    """out[i] = x[i - k] along ``dim``, zero where i - k is outside."""
    size = x.shape[dim]
    out = torch.zeros_like(x)
    if abs(k) >= size:
        return out
    src = x.narrow(dim, max(-k, 0), size - abs(k))
    out.narrow(dim, max(k, 0), size - abs(k)).copy_(src)
    return out


def integer_translate(x: torch.Tensor, dx: int, dy: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Shift by whole pixels (dx along width, dy along height); mask marks covered pixels."""
    ones = torch.ones_like(x)
    ref = _shift_zero(_shift_zero(x, dx, 3), dy, 2)
    mask = _shift_zero(_shift_zero(ones, dx, 3), dy, 2)
    return ref, mask


def _lanczos(v: torch.Tensor, a: int) -> torch.Tensor:
    return torch.where(v.abs() < a, torch.sinc(v) * torch.sinc(v / a), torch.zeros_like(v))


def _fractional_1d(x: torch.Tensor, mask: torch.Tensor, d: float, dim: int, a: int):
    n = math.floor(d)
    f = d - n
    taps = torch.arange(-a + 1, a + 1, dtype=torch.float64)
    weights = _lanczos(taps - f, a)
    weights = weights / weights.sum()
    ref = torch.zeros_like(x)
    valid = torch.ones_like(mask)
    for j, w in zip(taps.tolist(), weights.tolist()):
        ref = ref + w * _shift_zero(x, n + int(j), dim)
        valid = valid * _shift_zero(mask, n + int(j), dim)
    return ref, valid


def fractional_translate(x: torch.Tensor, dx: float, dy: float, a: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """Shift by fractional pixels with a Lanczos-``a`` resampler; mask excludes the border it cannot fill."""
    mask = torch.ones_like(x)
    ref, mask = _fractional_1d(x, mask, dx, 3, a)
    ref, mask = _fractional_1d(ref, mask, dy, 2, a)
    return ref, mask
