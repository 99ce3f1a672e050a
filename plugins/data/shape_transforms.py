"""Geometric transforms under MMagic 1.2.0's names and arguments: Resize, Flip, RandomTransposeHW, NumpyPad."""
from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from mgx.core.errors import ConfigError

from .images import check_backend, check_interpolation, flipped, require_image, resize_image
from .transform_utils import keys_arg, positive_int_arg, probability_arg, sample_rng, selected


def _round_half_up(value: float) -> int:
    return int(value + 0.5)  # mmcv's rescale_size rounding


class Resize:
    """Resize ``keys`` (MMagic's default ``'img'``; fields the sample lacks are skipped, as in MMagic).

    ``scale``: ``(w, h)`` → exactly that size, or with ``keep_ratio=True``
    mmcv's rescale: one factor ``min(max(scale)/long edge, min(scale)/short
    edge)``; a float → that factor. ``size_factor`` (+ ``max_size``) crops the
    target down to multiples of it. mgx also takes an int for a square and a
    ``-1`` side that follows the other (without keep_ratio). ``backend``:
    None/``'cv2'`` (OpenCV's resampling) or ``'pillow'``. Records
    ``{out_key}_shape``, ``scale_factor``, ``keep_ratio``, ``interpolation``, ``backend``.
    """

    def __init__(self, keys: Any = "img", scale: Any = None, keep_ratio: bool = False, size_factor: int | None = None,
                 max_size: int | None = None, interpolation: str = "bilinear", backend: str | None = None,
                 output_keys: Any = None) -> None:
        self.keys = keys_arg(keys, "Resize", allow_none=False)
        self.output_keys = self.keys if output_keys is None else keys_arg(output_keys, "Resize", allow_none=False)
        if len(self.output_keys) != len(self.keys):
            raise ConfigError(f"Resize: output_keys {output_keys!r} must have as many entries as keys {keys!r}")
        if size_factor is not None:
            positive_int_arg(size_factor, "size_factor", "Resize")
            if scale is not None or keep_ratio:
                raise ConfigError("Resize: with size_factor, scale must be None and keep_ratio False (MMagic's rule)")
        elif scale is None:
            raise ConfigError("Resize: give scale=(width, height), a float factor, or size_factor")
        if max_size is not None:
            positive_int_arg(max_size, "max_size", "Resize")
            if size_factor is None:
                raise ConfigError("Resize: max_size needs size_factor (MMagic's rule)")
        self.scale = None if scale is None else self._check_scale(scale)
        self.keep_ratio, self.size_factor, self.max_size = bool(keep_ratio), size_factor, max_size
        self.backend = backend
        self._backend = check_backend(backend, "Resize")
        self.interpolation = check_interpolation(interpolation, "Resize", self._backend)

    @staticmethod
    def _check_scale(scale: Any) -> Any:
        if isinstance(scale, bool):
            pass
        elif isinstance(scale, int) and scale > 0:
            return (scale, scale)
        elif isinstance(scale, float) and scale > 0:
            return scale
        elif (isinstance(scale, (list, tuple)) and len(scale) == 2 and all(isinstance(s, int) for s in scale)
              and all(s > 0 or s == -1 for s in scale) and list(scale) != [-1, -1]):
            return tuple(scale)
        raise ConfigError(f"Resize: scale must be (width, height), a positive int or a positive float factor; "
                          f"got {scale!r}")

    def target_size(self, height: int, width: int) -> tuple[tuple[int, int], Any]:
        """((new_width, new_height), scale_factor as MMagic records it) for an image of ``height × width``."""
        scale = self.scale
        if self.size_factor:
            new_h, new_w = height - height % self.size_factor, width - width % self.size_factor
            if self.max_size:
                limit = self.max_size - self.max_size % self.size_factor
                new_h, new_w = min(limit, new_h), min(limit, new_w)
            scale = (new_w, new_h)
        if isinstance(scale, float) or (self.keep_ratio and not isinstance(scale, float)):
            if isinstance(scale, float):
                factor = scale
            else:
                long_limit, short_limit = max(scale), min(scale)
                if short_limit == -1:
                    long_limit, short_limit = math.inf, long_limit
                factor = min(long_limit / max(height, width), short_limit / min(height, width))
            size = (max(1, _round_half_up(width * factor)), max(1, _round_half_up(height * factor)))
            return size, factor
        target_w, target_h = scale
        if target_w == -1:
            target_w = max(1, _round_half_up(width * target_h / height))
        elif target_h == -1:
            target_h = max(1, _round_half_up(height * target_w / width))
        return (target_w, target_h), np.array((target_w / width, target_h / height), dtype=np.float32)

    def _resize(self, image: np.ndarray) -> tuple[np.ndarray, Any]:
        size, factor = self.target_size(*image.shape[:2])
        out = resize_image(image, size, self.interpolation, self._backend)
        return (out[..., None] if out.ndim == 2 else out), factor

    def __call__(self, sample: dict) -> dict:
        factor = None
        for key, out_key in zip(self.keys, self.output_keys):
            if key not in sample:
                continue
            value = sample[key]
            if isinstance(value, list):
                results = [self._resize(require_image({key: v}, key, "Resize")) for v in value]
                sample[out_key] = [r[0] for r in results]
                factor, shape = results[-1][1], results[-1][0].shape
            else:
                sample[out_key], factor = self._resize(require_image(sample, key, "Resize"))
                shape = sample[out_key].shape
            sample[f"{out_key}_shape"] = shape
            for meta in ("ori_{}_shape", "{}_channel_order", "{}_color_type"):
                if meta.format(key) in sample:
                    sample[meta.format(out_key)] = copy.deepcopy(sample[meta.format(key)])
        if factor is not None:
            sample["scale_factor"] = factor
        sample.update(keep_ratio=self.keep_ratio, interpolation=self.interpolation, backend=self.backend)
        return sample


class Flip:
    """Flip ``keys`` (mgx: None = every image field) with probability ``flip_ratio``; one decision for all keys.

    Appends ``dict(keys, direction, ratio, flip)`` to the sample's ``flip_infos`` as MMagic does.
    Randomness: see ``transform_utils.sample_rng``.
    """

    def __init__(self, keys: Any = None, flip_ratio: float = 0.5, direction: str = "horizontal") -> None:
        if direction not in ("horizontal", "vertical"):
            raise ConfigError(f"Flip: direction must be 'horizontal' or 'vertical', got {direction!r}")
        self.keys = keys_arg(keys, "Flip")
        self.flip_ratio = probability_arg(flip_ratio, "flip_ratio", "Flip")
        self.direction = direction

    def __call__(self, sample: dict) -> dict:
        keys = selected(sample, self.keys)
        flip = bool(sample_rng(sample, self).random() < self.flip_ratio)
        if flip:
            axis = 1 if self.direction == "horizontal" else 0
            for key in keys:
                value = sample.get(key)
                frames = value if isinstance(value, list) else [require_image(sample, key, "Flip")]
                frames = [flipped(frame, axis) for frame in frames]
                sample[key] = frames if isinstance(value, list) else frames[0]
        sample.setdefault("flip_infos", []).append(
            dict(keys=list(keys), direction=self.direction, ratio=self.flip_ratio, flip=flip))
        return sample


class RandomTransposeHW:
    """Swap H and W of ``keys`` with probability ``transpose_ratio`` (one decision); records ``transpose``."""

    def __init__(self, keys: Any, transpose_ratio: float = 0.5) -> None:
        self.keys = keys_arg(keys, "RandomTransposeHW", allow_none=False)
        self.transpose_ratio = probability_arg(transpose_ratio, "transpose_ratio", "RandomTransposeHW")

    def __call__(self, sample: dict) -> dict:
        transpose = bool(sample_rng(sample, self).random() < self.transpose_ratio)
        if transpose:
            for key in self.keys:
                value = sample.get(key)
                frames = value if isinstance(value, list) else [require_image(sample, key, "RandomTransposeHW")]
                swapped = [np.ascontiguousarray(np.swapaxes(frame, 0, 1)) for frame in frames]
                sample[key] = swapped if isinstance(value, list) else swapped[0]
        sample["transpose"] = transpose
        return sample


class NumpyPad:
    """``numpy.pad(sample[key], padding, **kwargs)`` for each of ``keys``."""

    def __init__(self, keys: Any, padding: Any, **kwargs: Any) -> None:
        self.keys = keys_arg(keys, "NumpyPad", allow_none=False)
        self.padding, self.kwargs = padding, kwargs

    def __call__(self, sample: dict) -> dict:
        for key in self.keys:
            sample[key] = np.pad(require_image(sample, key, "NumpyPad"), self.padding, **self.kwargs)
        return sample
