"""Pillow's resize of uint8 images, batched in torch and bit-exact.

MMagic's Inception Score resizes with ``PIL.Image.resize(..., BICUBIC)`` (or
the ``resize_method`` given). Pillow resamples 8-bit images in two separable
passes (horizontal, then vertical), each with its filter (Keys' cubic kernel
with a = −0.5, the triangle, or the box) widened by the scale factor when
shrinking, weights normalised per output pixel and turned into 22-bit fixed
point, and each pass rounds and clips its output to uint8. NEAREST picks the
source pixel under each output pixel's centre. This module does the
same arithmetic: the fixed-point sums stay below 2^53, so float64 matrix
products give them exactly, on any device. Equal to Pillow's output byte for
byte (tested). Pillow's C resampler (Resample.c) runs the horizontal pass
first, as here; the Pillow 13.0.0 these tests run with was measured to take the
vertical pass first on some non-square resizes (e.g. 400×300 → 299×299), which
changes a few values by rounding; square images, what generators make, give the
same bytes (tested).
"""
from __future__ import annotations

import functools

import torch

_PRECISION_BITS = 32 - 8 - 2  # Pillow's fixed-point precision for 8-bit images


def _bicubic(x: float) -> float:
    """Keys' cubic convolution kernel with a = −0.5 (Pillow's BICUBIC)."""
    a = -0.5
    x = abs(x)
    if x < 1.0:
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    if x < 2.0:
        return (((x - 5.0) * x + 8.0) * x - 4.0) * a
    return 0.0


def _bilinear(x: float) -> float:
    x = abs(x)
    return 1.0 - x if x < 1.0 else 0.0


def _box(x: float) -> float:
    return 1.0 if -0.5 < x <= 0.5 else 0.0


# name -> (kernel, support), Pillow's filters
FILTERS = {"bicubic": (_bicubic, 2.0), "bilinear": (_bilinear, 1.0), "box": (_box, 0.5)}
METHODS = tuple(FILTERS) + ("nearest",)


def _fixed_point(weight: float) -> int:
    """Round half away from zero to 22-bit fixed point, as Pillow does (C cast truncates toward zero)."""
    scaled = weight * (1 << _PRECISION_BITS)
    return int(scaled - 0.5) if weight < 0 else int(scaled + 0.5)


@functools.lru_cache(maxsize=16)
def pil_weights(in_size: int, out_size: int, method: str = "bicubic") -> torch.Tensor:
    """out_size × in_size integer weight matrix (float64 holding integers) of one resampling pass."""
    matrix = torch.zeros(out_size, in_size, dtype=torch.float64)
    scale = in_size / out_size
    if method == "nearest":  # the source pixel under the output pixel's centre, at full weight
        # Pillow steps the centre by repeated addition (its round-off decides exact ties)
        sources, position = [], 0.5 * scale
        for _ in range(out_size):
            sources.append(min(int(position), in_size - 1))
            position += scale
        matrix[torch.arange(out_size), torch.tensor(sources)] = float(1 << _PRECISION_BITS)
        return matrix
    kernel, kernel_support = FILTERS[method]
    filter_scale = max(scale, 1.0)
    support = kernel_support * filter_scale
    inverse = 1.0 / filter_scale  # Pillow multiplies by the reciprocal: keep its rounding
    for out in range(out_size):
        center = (out + 0.5) * scale
        first = max(int(center - support + 0.5), 0)
        last = min(int(center + support + 0.5), in_size)
        weights = [kernel((x - center + 0.5) * inverse) for x in range(first, last)]
        total = sum(weights)
        if total != 0.0:
            weights = [w / total for w in weights]
        matrix[out, first:last] = torch.tensor([float(_fixed_point(w)) for w in weights], dtype=torch.float64)
    return matrix


def _pass(images: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Resample the last dimension: fixed-point sum, round half up, clip to [0, 255]."""
    sums = images @ weights.T.to(images.device)
    return torch.floor((sums + (1 << (_PRECISION_BITS - 1))) / (1 << _PRECISION_BITS)).clamp(0, 255)


def pil_resize(images: torch.Tensor, size: tuple[int, int], method: str = "bicubic") -> torch.Tensor:
    """Resize N×C×H×W images holding integers in [0, 255] to ``size`` (height, width) like Pillow's
    ``Image.resize`` with ``method`` (one of ``METHODS``); returns float32 integers in [0, 255]."""
    if method not in METHODS:
        raise ValueError(f"Pillow resize method must be one of {METHODS}, got {method!r}")
    height, width = size
    x = images.to(torch.float64)
    if x.shape[-1] != width:  # Pillow skips a pass whose size does not change
        x = _pass(x, pil_weights(x.shape[-1], width, method))
    if x.shape[-2] != height:
        x = _pass(x.transpose(-1, -2), pil_weights(x.shape[-2], height, method)).transpose(-1, -2)
    return x.float()
