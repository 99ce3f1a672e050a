"""EQ-R's reference operators (StyleGAN3, Karras et al. 2021, appendix E.3), in float64.

* ``filtered_rotation`` (R_α): the image is upsampled 4× through an oriented
  band-limit filter, then read bilinearly along the rotated grid.
* ``pseudo_rotation`` (R*_α): the generator's own rotated render is filtered
  with the same band limit at 1×, without moving it, so both sides lose the
  same frequencies (the corners of the spectrum a rotation cannot keep).

The band-limit filter is the product of (a) the convolution of an input-aligned
and an output-aligned (rotated) 2-D sinc and (b) the convolution of the two
matching Lanczos windows, both convolutions done circularly by FFT on a fine
grid of ``2·aflt·up − 1`` taps, then cropped to ``2·amax·up − 1`` taps and
normalised per polyphase component. Rotation matrices follow StyleGAN3's sign
(``sg3_rotation(α) = [[cos α, sin α], [−sin α, cos α]]``).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def sg3_rotation(angle: float) -> torch.Tensor:
    """3×3 float64 homogeneous rotation with StyleGAN3's sign convention."""
    c, s = math.cos(angle), math.sin(angle)
    return torch.tensor([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)


def _sinc(x: torch.Tensor) -> torch.Tensor:
    return torch.sinc(x)  # sin(πx)/(πx), 1 at 0


def _lanczos_window(x: torch.Tensor, a: float) -> torch.Tensor:
    x = x.abs() / a
    return torch.where(x < 1, torch.sinc(x), torch.zeros_like(x))


def _circular_convolution(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.fft.irfftn(torch.fft.rfftn(a) * torch.fft.rfftn(b), s=a.shape)


def bandlimit_filter(mat: torch.Tensor, a: int = 3, amax: int = 6, aflt: int = 64, up: int = 4) -> torch.Tensor:
    """Square FIR filter of odd size 2·amax·up − 1 for the affine map ``mat`` (2×2 part used)."""
    if not a <= amax < aflt:
        raise ValueError(f"need a <= amax < aflt, got a={a}, amax={amax}, aflt={aflt}")
    linear = mat[:2, :2].to(torch.float64)
    count = aflt * up * 2 - 1
    # tap positions in input pixels, rolled so that position 0 sits at index 0 (FFT layout)
    taps = ((torch.arange(count, dtype=torch.float64) + 1) / up - aflt).roll(1 - aflt * up)
    yi, xi = torch.meshgrid(taps, taps, indexing="ij")
    xo, yo = (torch.stack([xi, yi], dim=2) @ linear.T).unbind(2)
    sincs = _circular_convolution(_sinc(xi) * _sinc(yi), _sinc(xo) * _sinc(yo))
    windows = _circular_convolution(_lanczos_window(xi, a) * _lanczos_window(yi, a),
                                    _lanczos_window(xo, a) * _lanczos_window(yo, a))
    filt = (sincs * windows).roll([aflt * up - 1] * 2, dims=[0, 1])  # centre at the middle
    crop = (aflt - amax) * up
    filt = filt[crop:-crop, crop:-crop]
    # each of the up×up polyphase components sums to 1/up² (unit DC gain after zero insertion × up²)
    phases = F.pad(filt, [0, 1, 0, 1]).reshape(amax * 2, up, amax * 2, up)
    phases = phases / phases.sum(dim=(0, 2), keepdim=True) / (up * up)
    return phases.reshape(amax * 2 * up, amax * 2 * up)[:-1, :-1]


def _convolve(x: torch.Tensor, filt: torch.Tensor, pad: tuple[int, int, int, int]) -> torch.Tensor:
    """True 2-D convolution of every channel with ``filt`` after zero padding (left, right, top, bottom)."""
    channels = x.shape[1]
    kernel = filt.flip([0, 1]).to(x)[None, None].expand(channels, 1, *filt.shape)
    return F.conv2d(F.pad(x, list(pad)), kernel, groups=channels)


def _upsample(x: torch.Tensor, filt: torch.Tensor, up: int, margin: int) -> torch.Tensor:
    """Zero insertion (sample i at fine position up·i), then true convolution with ``filt``, keeping
    fine positions −margin … up·size − 1 + margin (StyleGAN3's upsample2d(padding=margin) layout).

    The full convolution of the zero-inserted image is one strided transposed convolution
    (16× fewer products than convolving the zero-filled image at 4×)."""
    n, c, h, w = x.shape
    size = filt.shape[0]
    kernel = filt.to(x)[None, None].expand(c, 1, size, size)
    full = F.conv_transpose2d(x, kernel, stride=up, groups=c)  # fine positions 0 … up·(h−1) + size − 1
    # upsample2d pads margin + (size+up−1)//2 zeros before the zero-inserted image, then convolves
    # valid: its output j is the full convolution's index j + start
    start = (size - 1) - (margin + (size + up - 1) // 2)
    length_h, length_w = up * h + 2 * margin, up * w + 2 * margin
    return F.pad(full, [-start, length_w + start - full.shape[3], -start, length_h + start - full.shape[2]])


def filtered_rotation(x: torch.Tensor, angle: float, a: int = 3, up: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """R_α: (rotated image, mask of pixels whose filter support lay inside the source)."""
    n, c, h, w = x.shape
    mat = sg3_rotation(angle)
    filt = bandlimit_filter(mat, a=a, amax=2 * a, up=up)
    size = filt.shape[0]
    half = size // 2
    upsampled = _upsample(x, filt * (up * up), up, half)  # (up·h + 2·half) square
    theta = torch.linalg.inv(mat)
    theta[:2, 2] *= 2
    theta[0, 2] += 1 / up / w
    theta[1, 2] += 1 / up / h
    theta[0, :] *= w / (w + half / up * 2)
    theta[1, :] *= h / (h + half / up * 2)
    grid = F.affine_grid(theta[:2].to(x)[None].expand(n, 2, 3), [n, c, h, w], align_corners=False)
    rotated = F.grid_sample(upsampled, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    inside = torch.zeros_like(upsampled)
    border = 2 * half + 1
    inside[:, :, border:-border, border:-border] = 1
    mask = F.grid_sample(inside, grid, mode="nearest", padding_mode="zeros", align_corners=False)
    return rotated, mask


def pseudo_rotation(x: torch.Tensor, angle: float, a: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """R*_α: x filtered with the band limit of a rotation by α (not moved); mask drops the filter's border."""
    filt = bandlimit_filter(sg3_rotation(-angle), a=a, amax=2 * a, up=1)
    size = filt.shape[0]
    filtered = _convolve(x, filt, (size // 2, (size - 1) // 2, size // 2, (size - 1) // 2))
    mask = torch.zeros_like(filtered)
    border = size // 2
    mask[:, :, border:-border, border:-border] = 1
    return filtered, mask
