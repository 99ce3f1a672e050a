"""MMagic's albumentations-based transforms (DeblurGANv2's pipelines), written on numpy/scipy with
albumentations 1.x's default parameters, so no OpenCV/albumentations install is needed:

- ``PairedAlbuTransForms(size, lq_key, gt_key, scope='geometric'|'weak', crop='random'|'center', p=0.5)``
  and ``AlbuTransForms(size, keys, ...)``: with probability ``p`` one of HorizontalFlip,
  ShiftScaleRotate, Transpose, OpticalDistortion, ElasticTransform (equally likely; 'weak': the flip
  alone), then PadIfNeeded(size) and a random/center ``size``×``size`` crop. The paired form draws
  once and applies the same change to both images.
- ``AlbuCorruptFunction(keys, config, p=1.0)``: with probability ``p`` one corruption of ``config``
  (each ``dict(name=..., prob=0.5, **its arguments)``; chosen with probability proportional to
  ``prob``, as albumentations' ``OneOf``), applied to each of ``keys``.
- ``PairedAlbuNormalize`` / ``AlbuNormalize``: ``(img / max_pixel_value - mean) / std``.

Borders are reflected without repeating the edge (OpenCV's BORDER_REFLECT_101), warps are bilinear.
The corruptions 'snow', 'shadow', 'fog' and 'sun_flare' are not implemented (a ConfigError says so).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from mgx.core.errors import ConfigError

from .albu_ops import CORRUPTIONS, GEOMETRIC, NOT_IMPLEMENTED, pad_if_needed
from .transform_utils import keys_arg, probability_arg, sample_rng


def _image(sample: dict, key: str, who: str) -> np.ndarray:
    value = sample.get(key)
    if not isinstance(value, np.ndarray) or value.ndim not in (2, 3):
        raise ConfigError(f"{who}: sample[{key!r}] must be an H×W(×C) image (load it first); the sample has "
                          f"{sorted(sample)}")
    return value


class _Geometric:
    """Shared part of the (paired) geometric transforms: draw one plan, apply it to each image."""

    def __init__(self, size: int, scope: str, crop: str, p: float, who: str) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ConfigError(f"{who}: size must be a positive int, got {size!r}")
        if scope not in ("geometric", "weak"):
            raise ConfigError(f"{who}: scope must be 'geometric' or 'weak', got {scope!r}")
        if crop not in ("random", "center"):
            raise ConfigError(f"{who}: crop must be 'random' or 'center', got {crop!r}")
        self.size, self.scope, self.crop, self.p = size, scope, crop, probability_arg(p, "p", who)

    def _plan(self, rng: np.random.Generator, shape: tuple) -> list:
        steps = []
        if rng.uniform() < self.p:
            name = "flip" if self.scope == "weak" else list(GEOMETRIC)[rng.integers(len(GEOMETRIC))]
            steps.append((GEOMETRIC[name], GEOMETRIC[name].draw(rng, shape)))
        return steps

    def _apply(self, image: np.ndarray, steps: list, crop_at: tuple | None) -> np.ndarray:
        for op, params in steps:
            image = op.apply(image, params)
        image = pad_if_needed(image, self.size)
        top, left = crop_at if crop_at else ((image.shape[0] - self.size) // 2, (image.shape[1] - self.size) // 2)
        return np.ascontiguousarray(image[top:top + self.size, left:left + self.size])

    def _crop_origin(self, rng: np.random.Generator, shape: tuple) -> tuple | None:
        if self.crop == "center":
            return None
        return int(rng.integers(shape[0] - self.size + 1)), int(rng.integers(shape[1] - self.size + 1))

    def _transform(self, sample: dict, keys: tuple, who: str) -> dict:
        rng = sample_rng(sample, self)
        shape = _image(sample, keys[0], who).shape
        steps = self._plan(rng, shape)
        # the padded shape after the plan: warps keep the size, a transpose swaps it
        moved = (shape[1], shape[0]) if any(getattr(op, "swaps_axes", False) for op, _ in steps) else shape[:2]
        origin = self._crop_origin(rng, (max(moved[0], self.size), max(moved[1], self.size)))
        for key in keys:
            image = _image(sample, key, who)
            if image.shape[:2] != shape[:2]:
                raise ConfigError(f"{who}: {keys} must have one size, got {shape[:2]} and {image.shape[:2]} "
                                  f"({key!r})")
            sample[key] = self._apply(image, steps, origin)
        return sample


class PairedAlbuTransForms(_Geometric):
    def __init__(self, size: int, lq_key: str = "img", gt_key: str = "gt", scope: str = "geometric",
                 crop: str = "random", p: float = 0.5) -> None:
        super().__init__(size, scope, crop, p, "PairedAlbuTransForms")
        self.lq_key, self.gt_key = lq_key, gt_key

    def __call__(self, sample: dict) -> dict:
        return self._transform(sample, (self.lq_key, self.gt_key), "PairedAlbuTransForms")


class AlbuTransForms(_Geometric):
    """Each key drawn on its own (MMagic runs the pipeline once per key)."""

    def __init__(self, size: int, keys: Any, scope: str = "geometric", crop: str = "random", p: float = 0.5) -> None:
        super().__init__(size, scope, crop, p, "AlbuTransForms")
        self.keys = keys_arg(keys, "AlbuTransForms", allow_none=False)

    def __call__(self, sample: dict) -> dict:
        for key in self.keys:
            self._transform(sample, (key,), "AlbuTransForms")
        return sample


class AlbuCorruptFunction:
    def __init__(self, keys: Any, config: list, p: float = 1.0) -> None:
        who = "AlbuCorruptFunction"
        self.keys = keys_arg(keys, who, allow_none=False)
        self.p = probability_arg(p, "p", who)
        if not isinstance(config, (list, tuple)) or not config:
            raise ConfigError(f"{who}: config must be a non-empty list of dict(name=..., ...), got {config!r}")
        self.config = [dict(item) if isinstance(item, dict) else item for item in config]
        self.choices = []
        for index, item in enumerate(self.config):
            where = f"{who}: config[{index}]"
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise ConfigError(f"{where} must be dict(name=..., ...), got {item!r}")
            args = {k: v for k, v in item.items() if k not in ("name", "prob")}
            name = item["name"]
            if name in NOT_IMPLEMENTED:
                raise ConfigError(f"{where}: the {name!r} corruption is not implemented in mgx; remove it "
                                  f"(implemented: {sorted(CORRUPTIONS)})")
            if name not in CORRUPTIONS:
                raise ConfigError(f"{where}: unknown corruption {name!r}; one of {sorted(CORRUPTIONS)}")
            self.choices.append((CORRUPTIONS[name](where, **args),
                                 probability_arg(item.get("prob", 0.5), "prob", where)))
        weights = np.array([prob for _, prob in self.choices])
        self.weights = weights / weights.sum() if weights.sum() > 0 else None

    def __call__(self, sample: dict) -> dict:
        rng = sample_rng(sample, self)
        if self.weights is None or rng.uniform() >= self.p:
            return sample
        corruption = self.choices[int(rng.choice(len(self.choices), p=self.weights))][0]
        for key in self.keys:
            image = _image(sample, key, "AlbuCorruptFunction")
            sample[key] = corruption(image, rng)
        return sample


class _Normalize:
    def __init__(self, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), max_pixel_value: float = 255.0,
                 always_apply: bool = False, p: float = 1.0) -> None:
        self.mean = np.asarray(mean, dtype=np.float32) * max_pixel_value
        self.std = np.asarray(std, dtype=np.float32) * max_pixel_value
        self.p = probability_arg(p, "p", type(self).__name__)
        self.always_apply = bool(always_apply)

    def normalize(self, image: np.ndarray) -> np.ndarray:
        return ((image.astype(np.float32) - self.mean) / self.std).astype(np.float32)

    def applies(self, sample: dict) -> bool:
        return self.always_apply or self.p >= 1.0 or sample_rng(sample, self).uniform() < self.p


class PairedAlbuNormalize(_Normalize):
    def __init__(self, lq_key: str, gt_key: str, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5),
                 max_pixel_value: float = 255.0, always_apply: bool = False, p: float = 1.0) -> None:
        super().__init__(mean, std, max_pixel_value, always_apply, p)
        self.lq_key, self.gt_key = lq_key, gt_key

    def __call__(self, sample: dict) -> dict:
        if self.applies(sample):
            for key in (self.lq_key, self.gt_key):
                if key in sample:
                    sample[key] = self.normalize(_image(sample, key, "PairedAlbuNormalize"))
        return sample


class AlbuNormalize(_Normalize):
    def __init__(self, keys: Any, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), max_pixel_value: float = 255.0,
                 always_apply: bool = False, p: float = 1.0) -> None:
        super().__init__(mean, std, max_pixel_value, always_apply, p)
        self.keys = keys_arg(keys, "AlbuNormalize", allow_none=False)

    def __call__(self, sample: dict) -> dict:
        if self.applies(sample):
            for key in self.keys:
                sample[key] = self.normalize(_image(sample, key, "AlbuNormalize"))
        return sample


ALBU_TRANSFORMS = (PairedAlbuTransForms, AlbuTransForms, AlbuCorruptFunction, PairedAlbuNormalize, AlbuNormalize)
