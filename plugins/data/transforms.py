"""Data transforms: callables ``dict -> dict`` built from a dataset's ``pipeline``.

Until ``PackInputs``, images are numpy H×W×C arrays (uint8 RGB from loading;
float32 after ``Normalize``). ``keys=None`` means "every image field of the sample".
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from mgx.core.errors import ConfigError, MgxError

from .images import check_interpolation, image_keys, read_image, require_image, resize_image


def _keys_arg(keys: Any, who: str) -> tuple[str, ...] | None:
    if keys is None:
        return None
    if isinstance(keys, str):
        return (keys,)
    if isinstance(keys, (list, tuple)) and all(isinstance(k, str) for k in keys):
        return tuple(keys)
    raise ConfigError(f"{who}: keys must be a field name, a list of them, or None (all image fields); got {keys!r}")


def _selected(sample: dict, keys: tuple[str, ...] | None) -> list[str]:
    return image_keys(sample) if keys is None else list(keys)


class LoadImageFromFile:
    """Read the file at ``sample[f'{key}_path']`` (or ``img_path``) into ``sample[key]``.

    ``color_type='color'`` gives H×W×3 uint8 (RGB, or BGR with ``to_rgb=False``);
    ``'grayscale'`` gives H×W×1. A file that does not decode raises MgxError naming it.
    """

    def __init__(self, key: str = "img", color_type: str = "color", to_rgb: bool = True) -> None:
        if color_type not in ("color", "grayscale"):
            raise ConfigError(f"LoadImageFromFile: color_type must be 'color' or 'grayscale', got {color_type!r}")
        self.key, self.color_type, self.to_rgb = key, color_type, bool(to_rgb)

    def __call__(self, sample: dict) -> dict:
        path_key = f"{self.key}_path"
        path = sample.get(path_key, sample.get("img_path"))
        if path is None:
            raise MgxError(f"LoadImageFromFile(key={self.key!r}): the sample has neither {path_key!r} nor 'img_path' "
                           f"(fields: {sorted(sample)})")
        sample[self.key] = read_image(path, self.color_type, self.to_rgb)
        sample[path_key] = str(path)
        return sample


class Resize:
    """Resize image fields to ``scale``.

    ``scale``: ``(w, h)`` as in MMagic, an int for a square, or a float factor.
    ``keep_ratio=True`` scales by one factor so the image fits inside ``w×h``;
    a ``-1`` side in ``(w, h)`` is derived from the other, keeping the ratio.
    """

    def __init__(self, scale: Any, keep_ratio: bool = False, keys: Any = None,
                 interpolation: str = "bilinear") -> None:
        self.scale = self._check_scale(scale)
        self.keep_ratio = bool(keep_ratio)
        self.keys = _keys_arg(keys, "Resize")
        self.interpolation = check_interpolation(interpolation, "Resize")

    @staticmethod
    def _check_scale(scale: Any) -> Any:
        if isinstance(scale, bool):
            pass
        elif isinstance(scale, int) and scale > 0:
            return (scale, scale)
        elif isinstance(scale, float) and scale > 0:
            return scale
        elif (isinstance(scale, (list, tuple)) and len(scale) == 2 and all(isinstance(s, int) for s in scale)
              and all(s > 0 or s == -1 for s in scale) and scale != (-1, -1) and list(scale) != [-1, -1]):
            return tuple(scale)
        raise ConfigError(f"Resize: scale must be (width, height), a positive int or a positive float factor; "
                          f"got {scale!r}")

    def target_size(self, height: int, width: int) -> tuple[int, int]:
        """(new_width, new_height) for an image of ``height × width``."""
        if isinstance(self.scale, float):
            return max(1, round(width * self.scale)), max(1, round(height * self.scale))
        target_w, target_h = self.scale
        if target_w == -1:
            return max(1, round(width * target_h / height)), target_h
        if target_h == -1:
            return target_w, max(1, round(height * target_w / width))
        if self.keep_ratio:
            factor = min(target_w / width, target_h / height)
            return max(1, round(width * factor)), max(1, round(height * factor))
        return target_w, target_h

    def __call__(self, sample: dict) -> dict:
        for key in _selected(sample, self.keys):
            image = require_image(sample, key, "Resize")
            sample[key] = resize_image(image, self.target_size(*image.shape[:2]), self.interpolation)
        return sample


class Flip:
    """Flip image fields with probability ``flip_ratio`` (one decision for all keys of a sample).

    Randomness: when the sample carries ``sample_idx`` and an ``epoch`` and/or
    ``seed`` field, the decision comes from a numpy Generator seeded with
    ``(seed, epoch, sample_idx)`` (reproducible anywhere); otherwise from the
    global numpy RNG (which PyTorch seeds per DataLoader worker).
    """

    def __init__(self, keys: Any = None, flip_ratio: float = 0.5, direction: str = "horizontal") -> None:
        if direction not in ("horizontal", "vertical"):
            raise ConfigError(f"Flip: direction must be 'horizontal' or 'vertical', got {direction!r}")
        if not 0.0 <= float(flip_ratio) <= 1.0:
            raise ConfigError(f"Flip: flip_ratio must be within [0, 1], got {flip_ratio!r}")
        self.keys = _keys_arg(keys, "Flip")
        self.flip_ratio = float(flip_ratio)
        self.direction = direction

    def _draw(self, sample: dict) -> float:
        if "sample_idx" in sample and ("epoch" in sample or "seed" in sample):
            entropy = [int(sample.get("seed", 0)) % 2**63, int(sample.get("epoch", 0)), int(sample["sample_idx"])]
            return float(np.random.default_rng(entropy).random())
        return float(np.random.random())

    def __call__(self, sample: dict) -> dict:
        if self._draw(sample) < self.flip_ratio:
            axis = 1 if self.direction == "horizontal" else 0
            for key in _selected(sample, self.keys):
                sample[key] = np.flip(require_image(sample, key, "Flip"), axis=axis).copy()
        return sample


class Normalize:
    """``(image - mean) / std`` per channel, as float32."""

    def __init__(self, mean: Sequence[float] | float, std: Sequence[float] | float, keys: Any = None) -> None:
        self.mean = np.asarray(mean, dtype=np.float32).reshape(-1)
        self.std = np.asarray(std, dtype=np.float32).reshape(-1)
        if self.mean.size == 0 or self.std.size == 0 or np.any(self.std == 0):
            raise ConfigError(f"Normalize: mean and std must be non-empty and std non-zero; got mean={mean!r} std={std!r}")
        self.keys = _keys_arg(keys, "Normalize")

    def __call__(self, sample: dict) -> dict:
        for key in _selected(sample, self.keys):
            image = require_image(sample, key, "Normalize").astype(np.float32)
            channels = image.shape[-1] if image.ndim == 3 else 1
            for name, values in (("mean", self.mean), ("std", self.std)):
                if values.size not in (1, channels):
                    raise MgxError(f"Normalize: {name} has {values.size} values but field {key!r} has {channels} channels")
            sample[key] = (image - self.mean) / self.std
        return sample


class DegradeForRestoration:
    """Make a low-quality copy of ``key`` in ``out_key``: bicubic down by ``scale``, then back up.

    Both fields keep the same size, which is what SRCNN-style models expect.
    """

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
        return sample


# Field renames PackInputs applies; 'img' is unconditional data: both input and ground truth.
PACKED_NAMES = {"img": ("inputs", "gt_img"), "gt": ("gt_img",), "lq": ("lq_img",)}


class PackInputs:
    """Turn image fields into torch CHW tensors (uint8 stays uint8, float stays float32).

    ``img`` becomes ``inputs`` and ``gt_img``; ``gt`` becomes ``gt_img``; ``lq``
    becomes ``lq_img``; any other image field keeps its name. Other fields pass
    through for the DataLoader's collate. ``keys=None`` packs every image field.
    """

    def __init__(self, keys: Any = None) -> None:
        self.keys = _keys_arg(keys, "PackInputs")

    @staticmethod
    def to_tensor(image: np.ndarray) -> Any:
        import torch

        chw = image[None] if image.ndim == 2 else image.transpose(2, 0, 1)
        if chw.dtype not in (np.uint8, np.float32):
            chw = chw.astype(np.float32)
        return torch.from_numpy(np.ascontiguousarray(chw))

    def __call__(self, sample: dict) -> dict:
        packed: dict[str, Any] = {}
        keys = _selected(sample, self.keys)
        for key in keys:
            tensor = self.to_tensor(require_image(sample, key, "PackInputs"))
            for name in PACKED_NAMES.get(key, (key,)):
                if name in packed:
                    raise MgxError(f"PackInputs: fields {key!r} and another one both map to {name!r}; "
                                   "rename one of them (e.g. LoadImageFromFile(key=...))")
                packed[name] = tensor
        rest = {key: value for key, value in sample.items() if key not in keys}
        clash = sorted(set(rest) & set(packed))
        if clash:
            raise MgxError(f"PackInputs: the sample already has field(s) {clash} that packing would overwrite")
        rest.update(packed)
        return rest
