"""Making low-quality inputs: MMagic's RandomDownSampling and RandomResize, and mgx's DegradeForRestoration."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from mgx.core.errors import ConfigError, MgxError

from .images import check_backend, check_interpolation, require_image, resize_image
from .transform_utils import RandomDegradation, keys_arg, sample_rng


class RandomDownSampling:
    """From ``gt``, make ``img`` smaller by a scale drawn uniformly from ``[scale_min, scale_max)`` (LIIF's).

    Without ``patch_size``: ``img`` is ``floor(H / s) × floor(W / s)`` and
    ``gt`` is cropped to ``round(h·s) × round(w·s)``; with it: a random
    ``round(patch_size·s)`` square of ``gt`` and ``img`` its resize to
    ``patch_size``. Records ``scale`` (the float drawn) and copies ``gt``'s channel order / colour type to ``img``.
    """

    def __init__(self, scale_min: float = 1.0, scale_max: float = 4.0, patch_size: int | None = None,
                 interpolation: str = "bicubic", backend: str | None = "pillow") -> None:
        if not (isinstance(scale_min, (int, float)) and isinstance(scale_max, (int, float)) and 0 < scale_min <= scale_max):
            raise ConfigError(f"RandomDownSampling: need 0 < scale_min <= scale_max, got {scale_min!r}, {scale_max!r}")
        if patch_size is not None and (isinstance(patch_size, bool) or not isinstance(patch_size, int) or patch_size < 1):
            raise ConfigError(f"RandomDownSampling: patch_size must be None or a positive int, got {patch_size!r}")
        self.scale_min, self.scale_max, self.patch_size = float(scale_min), float(scale_max), patch_size
        self.backend = backend
        self._backend = check_backend(backend, "RandomDownSampling")
        self.interpolation = check_interpolation(interpolation, "RandomDownSampling", self._backend)

    def __call__(self, sample: dict) -> dict:
        image = require_image(sample, "gt", "RandomDownSampling")
        rng = sample_rng(sample, self)
        scale = float(rng.uniform(self.scale_min, self.scale_max))
        if self.patch_size is None:
            h_lr = math.floor(image.shape[0] / scale + 1e-9)
            w_lr = math.floor(image.shape[1] / scale + 1e-9)
            crop_hr = image[:round(h_lr * scale), :round(w_lr * scale), ...].copy()
            crop_lr = resize_image(crop_hr, (w_lr, h_lr), self.interpolation, self._backend)
        else:
            w_hr = round(self.patch_size * scale)
            if image.shape[0] <= w_hr or image.shape[1] <= w_hr:
                raise MgxError(f"RandomDownSampling: gt {image.shape[:2]} is too small for a {w_hr}-pixel patch "
                               f"(patch_size={self.patch_size} × scale {scale:.3f})")
            top, left = int(rng.integers(0, image.shape[0] - w_hr)), int(rng.integers(0, image.shape[1] - w_hr))
            crop_hr = image[top:top + w_hr, left:left + w_hr, ...].copy()
            crop_lr = resize_image(crop_hr, (self.patch_size, self.patch_size), self.interpolation, self._backend)
        sample["gt"], sample["img"], sample["scale"] = crop_hr, crop_lr, scale
        for meta in ("channel_order", "color_type"):
            if f"gt_{meta}" in sample:
                sample[f"img_{meta}"] = sample[f"gt_{meta}"]
        return sample


class RandomResize(RandomDegradation):
    """MMagic's random resize degradation (OpenCV resampling) of each of ``keys``.

    ``params``: ``resize_opt`` / ``resize_prob`` (the interpolation drawn),
    ``target_size=(h, w)``, or ``resize_mode_prob`` (up/down/keep) with
    ``resize_scale=[low, high]`` (factor from ``[1, high)`` up or ``[low, 1)``
    down, size truncated), ``is_size_even``, ``resize_step`` (lists of frames
    drift in scale), ``prob`` (apply at all).
    """

    OPTIONS = ("bilinear", "bicubic", "area", "lanczos")

    def __init__(self, params: dict, keys: Any) -> None:
        if not isinstance(params, dict):
            raise ConfigError(f"RandomResize: params must be a dict, got {params!r}")
        for name in ("resize_opt", "resize_prob"):
            if name not in params:
                raise ConfigError(f"RandomResize: params needs {name!r} (got {sorted(params)})")
        options = [str(o).lower() for o in params["resize_opt"]]
        unknown = [o for o in options if o not in self.OPTIONS]
        if unknown:
            raise ConfigError(f"RandomResize: resize_opt {unknown} not among {self.OPTIONS}")
        if len(params["resize_prob"]) != len(options):
            raise ConfigError("RandomResize: resize_prob needs one probability per resize_opt")
        if params.get("target_size") is None and ("resize_mode_prob" not in params or "resize_scale" not in params):
            raise ConfigError("RandomResize: params needs target_size, or resize_mode_prob and resize_scale")
        self.params, self.keys = params, keys_arg(keys, "RandomResize", allow_none=False)

    def degrade(self, images: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
        params = self.params
        height, width = images[0].shape[:2]
        option = str(rng.choice([str(o).lower() for o in params["resize_opt"]], p=params["resize_prob"]))
        step = params.get("resize_step", 0)
        target = params.get("target_size")
        low, high = params.get("resize_scale", (1, 1))

        def size_for(factor: float) -> tuple[int, int]:
            h_out, w_out = height * factor, width * factor
            if params.get("is_size_even", False):
                h_out, w_out = 2 * (h_out // 2), 2 * (w_out // 2)
            return int(h_out), int(w_out)

        if target is None:
            mode = rng.choice(["up", "down", "keep"], p=params["resize_mode_prob"])
            factor = rng.uniform(1, high) if mode == "up" else rng.uniform(low, 1) if mode == "down" else 1.0
            target = size_for(factor)
        else:
            step = 0
        outputs = []
        for image in images:
            out = resize_image(image, (int(target[1]), int(target[0])), option, "cv2")
            outputs.append(out[..., None] if out.ndim == 2 else out)
            if step:
                factor = float(np.clip(factor + rng.uniform(-step, step), low, high))
                target = size_for(factor)
        return outputs



class DegradeForRestoration:
    """mgx's: a low-quality copy of ``key`` in ``out_key``, down by ``scale`` then back up (same size, for SRCNN)."""

    def __init__(self, scale: float = 2, key: str = "gt", out_key: str = "lq", interpolation: str = "bicubic") -> None:
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale < 1:
            raise ConfigError(f"DegradeForRestoration: scale must be a number ≥ 1, got {scale!r}")
        self.scale, self.key, self.out_key = float(scale), key, out_key
        self.interpolation = check_interpolation(interpolation, "DegradeForRestoration")

    def __call__(self, sample: dict) -> dict:
        image = require_image(sample, self.key, "DegradeForRestoration")
        height, width = image.shape[:2]
        small = (max(1, round(width / self.scale)), max(1, round(height / self.scale)))
        sample[self.out_key] = resize_image(resize_image(image, small, self.interpolation), (width, height),
                                            self.interpolation)
        if f"{self.key}_channel_order" in sample:
            sample[f"{self.out_key}_channel_order"] = sample[f"{self.key}_channel_order"]
        return sample
