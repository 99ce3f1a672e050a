"""MMagic's ``SinGANDataset``: one image and its pyramid of scales, every sample the whole pyramid.

``create_real_pyramid`` follows MMagic (after SinGAN's authors): with ``s0 = scale_factor_init``,
``num_scales = ceil(log(min_size / min(H, W)) / log s0) + 1``, ``scale2stop = ceil(log(min(max_size,
max(H, W)) / max(H, W)) / log s0)``, ``stop_scale = num_scales − scale2stop``; the image is first shrunk
so its long side is at most ``max_size``, the factor becomes ``(min_size / short side)^(1 / stop_scale)``
and scale ``i`` is the image rescaled by ``factor^(stop_scale − i)`` (mmcv's ``imrescale``: sizes rounded
half up, bilinear as OpenCV computes it). A sample holds ``real_scale0 … real_scale{stop_scale}``
(uint8, RGB) and ``input_sample`` (float32 zeros of scale 0's shape).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from mgx.core.errors import ConfigError

from .datasets_base import PipelineDataset
from .images import read_image, resize_image


def rescale(image: np.ndarray, scale: float) -> np.ndarray:
    """mmcv's ``imrescale`` by a factor: ``(int(w·scale + 0.5), int(h·scale + 0.5))``, bilinear (OpenCV's)."""
    height, width = image.shape[:2]
    size = (int(width * float(scale) + 0.5), int(height * float(scale) + 0.5))
    return resize_image(image, size, "bilinear", backend="cv2")


def create_real_pyramid(real: np.ndarray, min_size: int, max_size: int, scale_factor_init: float
                        ) -> tuple[list[np.ndarray], float, int]:
    """(the scales, coarse to fine; the actual factor; stop_scale): see the module docstring."""
    short, long = min(real.shape[:2]), max(real.shape[:2])
    num_scales = int(math.ceil(math.log(min_size / short) / math.log(scale_factor_init))) + 1
    scale2stop = int(math.ceil(math.log(min(max_size, long) / long) / math.log(scale_factor_init)))
    stop_scale = num_scales - scale2stop
    if stop_scale < 1:
        raise ConfigError(f"SinGANDataset: the image ({real.shape[1]}×{real.shape[0]}) gives {stop_scale + 1} "
                          f"scale(s) with min_size={min_size}, max_size={max_size}; use a larger image or a "
                          f"smaller min_size")
    real_max = rescale(real, min(max_size / long, 1))
    factor = (min_size / min(real_max.shape[:2])) ** (1 / stop_scale)
    reals = [rescale(real, factor ** (stop_scale - i)) for i in range(stop_scale + 1)]
    return reals, factor, stop_scale


class SinGANDataset(PipelineDataset):
    """See the module docstring. ``data_root`` is the image file; ``num_samples`` the length (−1: 10⁶,
    MMagic's 'endless'); every index returns the same pyramid."""

    def __init__(self, data_root: str, min_size: int, max_size: int, scale_factor_init: float,
                 pipeline: Sequence[dict] = (), num_samples: int = -1) -> None:
        who = "SinGANDataset"
        path = Path(str(data_root)).expanduser()
        if not path.is_file():
            raise ConfigError(f"{who}: data_root must be the training image file, got {str(data_root)!r} "
                              f"(MMagic's configs use e.g. ./data/singan/fish-crop.jpg)")
        for name, value in (("min_size", min_size), ("max_size", max_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{who}: {name} must be a positive int, got {value!r}")
        if not 0 < float(scale_factor_init) < 1:
            raise ConfigError(f"{who}: scale_factor_init must be in (0, 1), got {scale_factor_init!r}")
        self.data_root, self.num_samples = str(path), int(num_samples)
        self.reals, self.scale_factor, self.stop_scale = create_real_pyramid(
            read_image(path), min_size, max_size, float(scale_factor_init))
        super().__init__(pipeline)

    def __len__(self) -> int:
        return 10 ** 6 if self.num_samples < 0 else self.num_samples

    def raw_sample(self, idx: int) -> dict[str, Any]:
        sample: dict[str, Any] = {f"real_scale{i}": real.copy() for i, real in enumerate(self.reals)}
        sample["input_sample"] = np.zeros(self.reals[0].shape, dtype=np.float32)
        return sample


__all__ = ["SinGANDataset", "create_real_pyramid"]
