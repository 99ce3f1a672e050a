"""AOT-GAN's augmentations under MMagic 1.2.0's names and arguments: ``RandomResizedCrop`` (a random area
and aspect ratio, resized to ``crop_size``), ``RandomRotation`` (one random angle for all ``keys``, about the
image centre, zeros outside) and ``ColorJitter`` (torchvision's, one draw shared by all ``keys``). Each draws
from the sample's own random source as ``LoadMask`` does (``per_sample_rng``: seeded by ``sample_idx``), so a
sample is augmented the same way in any process and any evaluation; MMagic draws from the global RNG.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from mgx.core.errors import ConfigError

from .images import check_interpolation, require_image, resize_image
from .transform_utils import keys_arg, per_sample_rng


def _pair_of_numbers(value: Any, name: str, who: str) -> tuple[float, float]:
    if not (isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value) and value[0] <= value[1]):
        raise ConfigError(f"{who}: {name} must be a (low, high) pair of numbers, got {value!r}")
    return float(value[0]), float(value[1])


class RandomResizedCrop:
    """Crop each of ``keys`` to a random window (area ``scale`` of the image's, aspect ratio in ``ratio``,
    log-uniform; 10 tries, then the centre window of the nearest allowed ratio) and resize it to
    ``crop_size`` (an int or ``(width, height)``, mmcv's order). Records ``{key}_crop_bbox = [top, left, w, h]``."""

    def __init__(self, keys: Any, crop_size: Any, scale: Any = (0.08, 1.0), ratio: Any = (3. / 4., 4. / 3.),
                 interpolation: str = "bilinear") -> None:
        who = "RandomResizedCrop"
        self.keys = keys_arg(keys, who, allow_none=False)
        crop_size = (crop_size, crop_size) if isinstance(crop_size, int) and not isinstance(crop_size, bool) \
            else crop_size
        if not (isinstance(crop_size, (tuple, list)) and len(crop_size) == 2 and all(
                isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in crop_size)):
            raise ConfigError(f"{who}: crop_size must be a positive int or a (width, height) pair, got {crop_size!r}")
        self.crop_size = tuple(crop_size)
        self.scale, self.ratio = _pair_of_numbers(scale, "scale", who), _pair_of_numbers(ratio, "ratio", who)
        self.interpolation = check_interpolation(interpolation, who, "cv2")

    def window(self, height: int, width: int, rng: np.random.Generator) -> tuple[int, int, int, int]:
        """(top, left, crop height, crop width) as torchvision's and MMagic's ``get_params`` choose it."""
        area = height * width
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            target_area = rng.uniform(*self.scale) * area
            aspect = math.exp(rng.uniform(*log_ratio))
            crop_w, crop_h = int(round(math.sqrt(target_area * aspect))), int(round(math.sqrt(target_area / aspect)))
            if 0 < crop_w <= width and 0 < crop_h <= height:
                top, left = int(rng.integers(0, height - crop_h + 1)), int(rng.integers(0, width - crop_w + 1))
                return top, left, crop_h, crop_w
        in_ratio = width / height
        crop_h, crop_w = height, width
        if in_ratio < self.ratio[0]:
            crop_h = int(round(width / self.ratio[0]))
        elif in_ratio > self.ratio[1]:
            crop_w = int(round(height * self.ratio[1]))
        return (height - crop_h) // 2, (width - crop_w) // 2, crop_h, crop_w

    def __call__(self, sample: dict) -> dict:
        rng = per_sample_rng(sample, self)
        for key in self.keys:
            image = require_image(sample, key, "RandomResizedCrop")
            top, left, crop_h, crop_w = self.window(image.shape[0], image.shape[1], rng)
            window = image[top:top + crop_h, left:left + crop_w, ...]
            sample[key] = resize_image(window, self.crop_size, self.interpolation, "cv2")
            sample[f"{key}_crop_bbox"] = [top, left, crop_w, crop_h]
        return sample


def rotate_image(image: np.ndarray, angle: float) -> np.ndarray:
    """``image`` turned ``angle`` degrees counter-clockwise about its centre ((w−1)/2, (h−1)/2), bilinear,
    zeros outside, same size and dtype (mmcv's ``imrotate`` defaults)."""
    from scipy.ndimage import map_coordinates

    height, width = image.shape[:2]
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    cy, cx = (height - 1) / 2, (width - 1) / 2
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    src_x = cos * (xs - cx) - sin * (ys - cy) + cx
    src_y = sin * (xs - cx) + cos * (ys - cy) + cy
    planes = image[:, :, None] if image.ndim == 2 else image
    out = np.stack([map_coordinates(planes[:, :, c].astype(np.float64), [src_y, src_x], order=1, cval=0.0)
                    for c in range(planes.shape[2])], axis=2)
    if np.issubdtype(image.dtype, np.integer):
        info = np.iinfo(image.dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    return out.astype(image.dtype)


class RandomRotation:
    """Rotate each of ``keys`` by one angle drawn uniformly from ``degrees`` (a number d means (−d, d));
    a 2-D result gets a channel axis. Records ``degrees``."""

    def __init__(self, keys: Any, degrees: Any) -> None:
        who = "RandomRotation"
        self.keys = keys_arg(keys, who, allow_none=False)
        if isinstance(degrees, (int, float)) and not isinstance(degrees, bool):
            if degrees < 0:
                raise ConfigError(f"{who}: degrees must be positive when it is a number, got {degrees!r}")
            degrees = (-degrees, degrees)
        self.degrees = _pair_of_numbers(degrees, "degrees", who)

    def __call__(self, sample: dict) -> dict:
        angle = float(per_sample_rng(sample, self).uniform(*self.degrees))
        for key in self.keys:
            rotated = rotate_image(require_image(sample, key, "RandomRotation"), angle)
            sample[key] = rotated[:, :, None] if rotated.ndim == 2 else rotated
        sample["degrees"] = self.degrees
        return sample


class ColorJitter:
    """torchvision's ``ColorJitter(**kwargs)`` (brightness, contrast, saturation, hue) on each of ``keys``
    (uint8 H×W×3, or a list of them; ``channel_order`` 'rgb' or 'bgr'), with one random draw per sample
    shared by all keys."""

    def __init__(self, keys: Any, channel_order: str = "rgb", **kwargs: Any) -> None:
        from torchvision import transforms

        who = "ColorJitter"
        self.keys = keys_arg(keys, who, allow_none=False)
        if "to_rgb" in kwargs:
            raise ConfigError(f"{who}: to_rgb is not supported; use channel_order='rgb' or 'bgr'")
        if str(channel_order).lower() not in ("rgb", "bgr"):
            raise ConfigError(f"{who}: channel_order must be 'rgb' or 'bgr', got {channel_order!r}")
        self.channel_order = str(channel_order).lower()
        self.jitter_args = dict(kwargs)
        try:
            self._transform = transforms.ColorJitter(**kwargs)
        except (TypeError, ValueError) as error:
            raise ConfigError(f"{who}: {error}") from None

    def _jitter(self, image: np.ndarray, seed: int) -> np.ndarray:
        import torch
        from PIL import Image

        image = image[..., ::-1] if self.channel_order == "bgr" else image
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ConfigError(f"ColorJitter: needs uint8 H×W×3 images, got {image.dtype} {image.shape}; put it "
                              "before any transform that makes floats")
        with torch.random.fork_rng(devices=[]):  # torchvision draws from the global torch RNG
            torch.manual_seed(seed)
            out = np.asarray(self._transform(Image.fromarray(np.ascontiguousarray(image))))
        return np.ascontiguousarray(out[..., ::-1] if self.channel_order == "bgr" else out)

    def __call__(self, sample: dict) -> dict:
        seed = int(per_sample_rng(sample, self).integers(0, 2**32))
        for key in self.keys:
            value = sample.get(key)
            if isinstance(value, list):
                sample[key] = [self._jitter(frame, seed) for frame in value]
            else:
                sample[key] = self._jitter(require_image(sample, key, "ColorJitter"), seed)
        return sample


__all__ = ["ColorJitter", "RandomResizedCrop", "RandomRotation", "rotate_image"]
