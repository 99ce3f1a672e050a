"""Coarse segmentations from an alpha, with MMagic 1.2.0's names and arguments (background matting's
inputs): ``GenerateSeg`` and ``GenerateSoftSeg``. OpenCV's erosion, dilation and Gaussian blur are
computed with SciPy as ``matting.morphology`` and :func:`gaussian_blur` say; random choices draw from the
sample's own generator (``sample_rng``), the distributions are MMagic's."""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

from mgx.core.errors import ConfigError, MgxError

from .images import require_image
from .matting import UNKNOWN, _int_range, ellipse_element, morphology
from .matting_composition import choose_unknown
from .transform_utils import sample_rng


# OpenCV 4's fixed kernels for the odd sizes up to 7 when σ is derived from the size (OpenCV 5 adds 9)
SMALL_KERNELS = {1: [1.0], 3: [0.25, 0.5, 0.25], 5: [0.0625, 0.25, 0.375, 0.25, 0.0625],
                 7: [0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125]}


def gaussian_kernel(size: int) -> np.ndarray:
    """OpenCV's ``getGaussianKernel(size, 0)``: its fixed table up to 7, else σ = 0.3·((size − 1)/2 − 1) + 0.8,
    weights summing to 1."""
    if size in SMALL_KERNELS:
        return np.array(SMALL_KERNELS[size])
    sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8
    offsets = np.arange(size) - (size - 1) / 2
    weights = np.exp(-offsets ** 2 / (2 * sigma ** 2))
    return weights / weights.sum()


def gaussian_blur(plane: np.ndarray, ksize: tuple[int, int]) -> np.ndarray:
    """OpenCV's ``GaussianBlur(plane, (width, height), 0)``: separable, borders mirrored without repeating
    the edge (BORDER_REFLECT_101)."""
    width, height = ksize
    out = ndimage.correlate1d(plane.astype(np.float64), gaussian_kernel(width), axis=1, mode="mirror")
    return ndimage.correlate1d(out, gaussian_kernel(height), axis=0, mode="mirror").astype(plane.dtype)


def _sizes(value: Any, name: str, who: str) -> list[tuple[int, int]]:
    if not (isinstance(value, (list, tuple)) and value and all(
            isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(n, int) and n > 0 for n in v)
            for v in value)):
        raise ConfigError(f"{who}: {name} must be a list of (h, w) pairs of positive ints, got {value!r}")
    return [tuple(v) for v in value]


def _plane(sample: dict, key: str, who: str) -> np.ndarray:
    image = require_image(sample, key, who)
    if image.ndim == 3 and image.shape[2] != 1:
        raise MgxError(f"{who}: {key} must be one channel, got shape {image.shape}")
    return image.reshape(image.shape[:2])


class GenerateSeg:
    """``seg``: alpha > 0.5 (float), eroded and dilated by an ellipse of ``kernel_size`` (iterations from
    ``erode_iter_range`` / ``dilate_iter_range``), with ``num_holes`` holes (from ``num_holes_range``, sizes
    from ``hole_sizes``) cut around unknown trimap pixels into it and into the trimap, Gaussian-blurred
    (a size from ``blur_ksizes``) and cast to uint8, as MMagic does. Records ``num_holes``."""

    def __init__(self, kernel_size: int = 5, erode_iter_range: Any = (10, 20), dilate_iter_range: Any = (15, 30),
                 num_holes_range: Any = (0, 3), hole_sizes: Any = ((15, 15), (25, 25), (35, 35), (45, 45)),
                 blur_ksizes: Any = ((21, 21), (31, 31), (41, 41))) -> None:
        if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1:
            raise ConfigError(f"GenerateSeg: kernel_size must be a positive int, got {kernel_size!r}")
        self.kernel_size = kernel_size
        self.erode_iter_range = _int_range(erode_iter_range, "erode_iter_range", "GenerateSeg")
        self.dilate_iter_range = _int_range(dilate_iter_range, "dilate_iter_range", "GenerateSeg")
        self.num_holes_range = _int_range(num_holes_range, "num_holes_range", "GenerateSeg")
        self.hole_sizes = _sizes(hole_sizes, "hole_sizes", "GenerateSeg")
        self.blur_ksizes = _sizes(blur_ksizes, "blur_ksizes", "GenerateSeg")
        self._element = ellipse_element(kernel_size)

    def __call__(self, sample: dict) -> dict:
        alpha, trimap = _plane(sample, "alpha", "GenerateSeg"), _plane(sample, "trimap", "GenerateSeg").copy()
        rng = sample_rng(sample, self)
        seg = (alpha > 0.5).astype(np.float32)
        seg = morphology(seg, self._element, int(rng.integers(*self.erode_iter_range)), erode=True)
        seg = morphology(seg, self._element, int(rng.integers(*self.dilate_iter_range)), erode=False)
        holes = int(rng.integers(*self.num_holes_range))
        for _ in range(holes):
            hole_h, hole_w = self.hole_sizes[int(rng.integers(len(self.hole_sizes)))]
            if hole_h > seg.shape[0] or hole_w > seg.shape[1]:
                raise MgxError(f"GenerateSeg: a {hole_h}×{hole_w} hole does not fit the {seg.shape} alpha; use "
                               "smaller hole_sizes")
            top, left = choose_unknown(rng, trimap == UNKNOWN, (hole_h, hole_w))
            seg[top:top + hole_h, left:left + hole_w] = 0
            trimap[top:top + hole_h, left:left + hole_w] = 0
        sample["trimap"] = trimap.reshape(sample["trimap"].shape)  # MMagic cuts the holes into the trimap too
        seg = gaussian_blur(seg, self.blur_ksizes[int(rng.integers(len(self.blur_ksizes)))])
        sample["seg"] = seg.astype(np.uint8)
        sample["num_holes"] = holes
        return sample


class GenerateSoftSeg:
    """``soft_seg`` from ``seg``: values above ``fg_thr`` (of 255) set to 1, the bottom edge extended by
    ``border_width`` rows, eroded (ellipse ``erode_ksize``) and dilated (``dilate_ksize``) with iterations
    from the ranges, Gaussian-blurred (a size from ``blur_ksizes``), ×255 as uint8, the extension removed."""

    def __init__(self, fg_thr: float = 0.2, border_width: int = 25, erode_ksize: int = 3, dilate_ksize: int = 5,
                 erode_iter_range: Any = (10, 20), dilate_iter_range: Any = (3, 7),
                 blur_ksizes: Any = ((21, 21), (31, 31), (41, 41))) -> None:
        if isinstance(fg_thr, bool) or not isinstance(fg_thr, float):
            raise ConfigError(f"GenerateSoftSeg: fg_thr must be a float, got {fg_thr!r}")
        for name, value in (("border_width", border_width), ("erode_ksize", erode_ksize),
                            ("dilate_ksize", dilate_ksize)):
            if isinstance(value, bool) or not isinstance(value, int) or value < (0 if name == "border_width" else 1):
                raise ConfigError(f"GenerateSoftSeg: {name} must be an int ≥ {0 if name == 'border_width' else 1}, "
                                  f"got {value!r}")
        self.fg_thr, self.border_width = fg_thr, border_width
        self.erode_iter_range = _int_range(erode_iter_range, "erode_iter_range", "GenerateSoftSeg")
        self.dilate_iter_range = _int_range(dilate_iter_range, "dilate_iter_range", "GenerateSoftSeg")
        self.blur_ksizes = _sizes(blur_ksizes, "blur_ksizes", "GenerateSoftSeg")
        self._erode, self._dilate = ellipse_element(erode_ksize), ellipse_element(dilate_ksize)

    def __call__(self, sample: dict) -> dict:
        seg = _plane(sample, "seg", "GenerateSoftSeg").astype(np.float32) / 255
        height = seg.shape[0]
        seg[seg > self.fg_thr] = 1
        seg = np.concatenate([seg, np.repeat(seg[-1:], self.border_width, axis=0)], axis=0)
        rng = sample_rng(sample, self)
        seg = morphology(seg, self._erode, int(rng.integers(*self.erode_iter_range)), erode=True)
        seg = morphology(seg, self._dilate, int(rng.integers(*self.dilate_iter_range)), erode=False)
        seg = gaussian_blur(seg, self.blur_ksizes[int(rng.integers(len(self.blur_ksizes)))])
        sample["soft_seg"] = (seg * 255).astype(np.uint8)[:height]
        return sample


__all__ = ["GenerateSeg", "GenerateSoftSeg", "gaussian_blur", "gaussian_kernel"]
