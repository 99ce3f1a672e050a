"""Crops under MMagic 1.2.0's names and arguments: Crop, PairedRandomCrop, ModCrop,
CenterCropLongEdge, RandomCropLongEdge, CropLike, FixedCrop."""
from __future__ import annotations

from typing import Any

import numpy as np

from mgx.core.errors import ConfigError, MgxError

from .images import require_image
from .transform_utils import keys_arg, positive_int_arg, sample_rng


def _frames(sample: dict, key: str, who: str) -> tuple[list[np.ndarray], bool]:
    value = sample.get(key)
    if isinstance(value, list):
        return [require_image({key: v}, key, who) for v in value], True
    return [require_image(sample, key, who)], False


def _sample_scale(sample: dict, scale: Any, who: str) -> int:
    value = sample.get("scale") if scale is None else scale
    if value is None:
        raise MgxError(f"{who}: no scale: put dict(type='SetValues', dictionary=dict(scale=...)) before it "
                       "(MMagic's SR configs do) or give scale=")
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or value < 1 \
            or float(value) != int(value):
        raise MgxError(f"{who}: scale must be a positive integer, got {value!r}")
    return int(value)


class Crop:
    """Crop each of ``keys`` to ``crop_size=(h, w)`` (at most the image size): a random window per key
    (``random_crop=True``) or the centre; ``is_pad_zeros`` first pads a smaller image with zeros
    (twice the shortfall, halved, on each side). Records ``{key}_crop_bbox = [x, y, w, h]`` and ``crop_size``."""

    def __init__(self, keys: Any, crop_size: Any, random_crop: bool = True, is_pad_zeros: bool = False) -> None:
        if not (isinstance(crop_size, tuple) and len(crop_size) == 2 and all(
                isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in crop_size)):
            raise ConfigError(f"Crop: crop_size must be a tuple (height, width) of positive ints, got {crop_size!r}")
        self.keys = keys_arg(keys, "Crop", allow_none=False)
        self.crop_size, self.random_crop, self.is_pad_zeros = crop_size, bool(random_crop), bool(is_pad_zeros)

    def _crop(self, image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, list[int]]:
        crop_h, crop_w = self.crop_size
        if self.is_pad_zeros:
            pad_y = (crop_h - image.shape[0]) // 2 if crop_h > image.shape[0] else 0
            pad_x = (crop_w - image.shape[1]) // 2 if crop_w > image.shape[1] else 0
            if pad_y > 0 or pad_x > 0:
                width = [(2 * pad_y, 2 * pad_y), (2 * pad_x, 2 * pad_x)] + [(0, 0)] * (image.ndim - 2)
                image = np.pad(image, width, mode="constant", constant_values=0)
        height, width = image.shape[:2]
        crop_h, crop_w = min(height, crop_h), min(width, crop_w)
        if self.random_crop:
            x, y = int(rng.integers(0, width - crop_w + 1)), int(rng.integers(0, height - crop_h + 1))
        else:
            x, y = (width - crop_w) // 2, (height - crop_h) // 2
        return image[y:y + crop_h, x:x + crop_w, ...].copy(), [x, y, crop_w, crop_h]

    def __call__(self, sample: dict) -> dict:
        rng = sample_rng(sample, self)
        for key in self.keys:
            frames, is_list = _frames(sample, key, "Crop")
            results = [self._crop(frame, rng) for frame in frames]
            sample[key] = [r[0] for r in results] if is_list else results[0][0]
            sample[f"{key}_crop_bbox"] = [r[1] for r in results] if is_list else results[0][1]
        sample["crop_size"] = self.crop_size
        return sample


class PairedRandomCrop:
    """Crop ``gt_key`` to ``gt_patch_size`` and ``lq_key`` to ``gt_patch_size // scale`` at the matching place.

    ``scale`` is the sample's ``scale`` field (MMagic: set by ``SetValues``), or
    mgx's ``scale=`` argument. The ground truth must be exactly ``scale`` times
    the low-quality image, which must hold the patch; otherwise an error names both files.
    """

    def __init__(self, gt_patch_size: int, lq_key: str = "img", gt_key: str = "gt", scale: int | None = None) -> None:
        self.gt_patch_size = positive_int_arg(gt_patch_size, "gt_patch_size", "PairedRandomCrop")
        self.lq_key, self.gt_key = lq_key, gt_key
        self.scale = None if scale is None else positive_int_arg(scale, "scale", "PairedRandomCrop")

    def _files(self, sample: dict) -> str:
        return f"({sample.get(f'{self.lq_key}_path', self.lq_key)}, {sample.get(f'{self.gt_key}_path', self.gt_key)})"

    def __call__(self, sample: dict) -> dict:
        scale = _sample_scale(sample, self.scale, "PairedRandomCrop")
        lq_patch = self.gt_patch_size // scale
        lqs, lq_list = _frames(sample, self.lq_key, "PairedRandomCrop")
        gts, gt_list = _frames(sample, self.gt_key, "PairedRandomCrop")
        (h_lq, w_lq), (h_gt, w_gt) = lqs[0].shape[:2], gts[0].shape[:2]
        if h_gt != h_lq * scale or w_gt != w_lq * scale:
            raise MgxError(f"PairedRandomCrop: scale mismatch: GT ({h_gt}, {w_gt}) is not {scale}× LQ "
                           f"({h_lq}, {w_lq}) {self._files(sample)}")
        if h_lq < lq_patch or w_lq < lq_patch:
            raise MgxError(f"PairedRandomCrop: LQ ({h_lq}, {w_lq}) is smaller than the patch ({lq_patch}, {lq_patch}) "
                           f"{self._files(sample)}")
        rng = sample_rng(sample, self)
        top, left = int(rng.integers(0, h_lq - lq_patch + 1)), int(rng.integers(0, w_lq - lq_patch + 1))
        lqs = [v[top:top + lq_patch, left:left + lq_patch, ...].copy() for v in lqs]
        top_gt, left_gt = top * scale, left * scale
        gts = [v[top_gt:top_gt + self.gt_patch_size, left_gt:left_gt + self.gt_patch_size, ...].copy() for v in gts]
        sample[self.lq_key] = lqs if lq_list else lqs[0]
        sample[self.gt_key] = gts if gt_list else gts[0]
        return sample


class ModCrop:
    """Crop ``key`` (default ``'gt'``) at the bottom/right so height and width are multiples of the sample's ``scale``."""

    def __init__(self, key: str = "gt", scale: int | None = None) -> None:
        self.key = key
        self.scale = None if scale is None else positive_int_arg(scale, "scale", "ModCrop")

    def __call__(self, sample: dict) -> dict:
        scale = _sample_scale(sample, self.scale, "ModCrop")
        image = require_image(sample, self.key, "ModCrop")
        height, width = image.shape[:2]
        sample[self.key] = image[:height - height % scale, :width - width % scale, ...].copy()
        return sample


class _LongEdgeCrop:
    """A square of the short edge's size."""

    def __init__(self, keys: Any = "img") -> None:
        self.keys = keys_arg(keys, type(self).__name__, allow_none=False)

    def _offsets(self, extra_h: int, extra_w: int, sample: dict) -> tuple[int, int]:
        raise NotImplementedError

    def __call__(self, sample: dict) -> dict:
        for key in self.keys:
            image = require_image(sample, key, type(self).__name__)
            size = min(image.shape[:2])
            y, x = self._offsets(image.shape[0] - size, image.shape[1] - size, sample)
            sample[key] = image[y:y + size, x:x + size, ...].copy()
        return sample


class CenterCropLongEdge(_LongEdgeCrop):
    """Crop ``keys`` to the centred square of the short edge (offset ``int(extra / 2)``, as MMagic)."""

    def _offsets(self, extra_h: int, extra_w: int, sample: dict) -> tuple[int, int]:
        return int(extra_h / 2), int(extra_w / 2)


class RandomCropLongEdge(_LongEdgeCrop):
    """Crop ``keys`` to a square of the short edge at a random offset in ``[0, extra)`` (MMagic's range)."""

    def _offsets(self, extra_h: int, extra_w: int, sample: dict) -> tuple[int, int]:
        rng = sample_rng(sample, self)
        return (int(rng.integers(0, extra_h)) if extra_h else 0), (int(rng.integers(0, extra_w)) if extra_w else 0)


class CropLike:
    """Make ``target_key`` the size of ``reference_key``: keep its top-left part, zero-fill the rest."""

    def __init__(self, target_key: str, reference_key: str) -> None:
        if not target_key or not reference_key:
            raise ConfigError("CropLike: target_key and reference_key are both required")
        self.target_key, self.reference_key = target_key, reference_key

    def __call__(self, sample: dict) -> dict:
        reference = require_image(sample, self.reference_key, "CropLike")
        image = require_image(sample, self.target_key, "CropLike")
        out = np.zeros(reference.shape[:2] + image.shape[2:], dtype=image.dtype)
        h, w = min(image.shape[0], reference.shape[0]), min(image.shape[1], reference.shape[1])
        out[:h, :w] = image[:h, :w]
        sample[self.target_key] = out
        return sample


class FixedCrop:
    """Crop every one of ``keys`` (same size, checked) with one window of ``crop_size=(h, w)`` (at most the
    image): at ``crop_pos=(x, y)``, or a random position when it is None (MMagic's paired crop).
    Records ``{key}_crop_bbox = [x, y, w, h]``, ``crop_size`` and ``crop_pos``."""

    def __init__(self, keys: Any, crop_size: Any, crop_pos: Any = None) -> None:
        who = "FixedCrop"
        if not (isinstance(crop_size, (tuple, list)) and len(crop_size) == 2 and all(
                isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in crop_size)):
            raise ConfigError(f"{who}: crop_size must be (height, width), positive ints, got {crop_size!r}")
        if crop_pos is not None and not (isinstance(crop_pos, (tuple, list)) and len(crop_pos) == 2 and all(
                isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in crop_pos)):
            raise ConfigError(f"{who}: crop_pos must be None or (x, y), non-negative ints, got {crop_pos!r}")
        self.keys = keys_arg(keys, who, allow_none=False)
        self.crop_size, self.crop_pos = tuple(crop_size), None if crop_pos is None else tuple(crop_pos)

    def __call__(self, sample: dict) -> dict:
        first, _ = _frames(sample, self.keys[0], "FixedCrop")
        height, width = first[0].shape[:2]
        crop_h, crop_w = min(height, self.crop_size[0]), min(width, self.crop_size[1])
        if self.crop_pos is None:
            rng = sample_rng(sample, self)
            x, y = int(rng.integers(0, width - crop_w + 1)), int(rng.integers(0, height - crop_h + 1))
        else:
            x, y = self.crop_pos
            crop_w, crop_h = min(width - x, crop_w), min(height - y, crop_h)
        for key in self.keys:
            frames, is_list = _frames(sample, key, "FixedCrop")
            for frame in frames:
                if frame.shape[:2] != (height, width):
                    raise MgxError(f"FixedCrop: the images of {list(self.keys)} must have one size; {key!r} is "
                                   f"{frame.shape[0]}×{frame.shape[1]}, {self.keys[0]!r} {height}×{width}")
            cropped = [frame[y:y + crop_h, x:x + crop_w, ...].copy() for frame in frames]
            sample[key] = cropped if is_list else cropped[0]
            sample[f"{key}_crop_bbox"] = [x, y, crop_w, crop_h]
        sample["crop_size"], sample["crop_pos"] = self.crop_size, self.crop_pos
        return sample
