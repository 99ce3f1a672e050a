"""Matting composition and cropping with MMagic 1.2.0's names and arguments: ``MergeFgAndBg``,
``CompositeFg``, ``RandomLoadResizeBg``, ``PerturbBg``, ``RandomJitter``, ``RandomAffine``,
``CropAroundUnknown`` and ``CropAroundCenter``.

Images keep the channel order they were loaded with (``{key}_channel_order``; MMagic's BGR by default) and
H×W×C layout; alphas/trimaps H×W×1. Random choices draw from the sample's own generator (``sample_rng``);
the distributions are MMagic's. Resizing is OpenCV's (``images.resize_cv2``), as mmcv's ``imresize``.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from mgx.core.errors import ConfigError, MgxError

from .images import check_interpolation, read_image, require_image, resize_image
from .transform_utils import keys_arg, sample_rng

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def _resize(image: np.ndarray, width: int, height: int, interpolation: str) -> np.ndarray:
    """mmcv.imresize, keeping an H×W×1 image three-dimensional."""
    out = resize_image(image, (width, height), interpolation, backend="cv2")
    return out.reshape(height, width, *image.shape[2:]) if image.ndim == 3 and out.ndim == 2 else out


def _list_images(folder: Any, who: str) -> list[Path]:
    path = Path(str(folder)).expanduser()
    if not path.is_dir():
        raise ConfigError(f"{who}: folder {str(path)!r} does not exist (relative to {Path.cwd()}); point it at "
                          "your images")
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ConfigError(f"{who}: folder {str(path)!r} holds no images")
    return files


class MergeFgAndBg:
    """``merged = fg · alpha/255 + (1 − alpha/255) · bg`` (float), in the foreground's channel order."""

    def __call__(self, sample: dict) -> dict:
        alpha = require_image(sample, "alpha", "MergeFgAndBg").astype(np.float32) / 255.0
        fg, bg = require_image(sample, "fg", "MergeFgAndBg"), require_image(sample, "bg", "MergeFgAndBg")
        if fg.shape[:2] != bg.shape[:2] or fg.shape[:2] != alpha.shape[:2]:
            raise MgxError(f"MergeFgAndBg: fg {fg.shape}, bg {bg.shape} and alpha {alpha.shape} differ in size")
        sample["merged"] = fg * alpha + (1.0 - alpha) * bg
        sample["merged_channel_order"] = sample.get("fg_channel_order", "bgr")
        return sample


class CompositeFg:
    """With probability 0.5, composite a second foreground (from ``fg_dirs`` / ``alpha_dirs``, the same
    sorted file lists; resized with ``interpolation``) behind the sample's: fg = fg·α + fg₂·(1 − α) and
    α = 1 − (1 − α)(1 − α₂), unless that leaves no pixel below 1. fg and alpha become float."""

    def __init__(self, fg_dirs: Any, alpha_dirs: Any, interpolation: str = "nearest") -> None:
        fg_dirs = fg_dirs if isinstance(fg_dirs, list) else [fg_dirs]
        alpha_dirs = alpha_dirs if isinstance(alpha_dirs, list) else [alpha_dirs]
        if len(fg_dirs) != len(alpha_dirs):
            raise ConfigError(f"CompositeFg: fg_dirs ({len(fg_dirs)}) and alpha_dirs ({len(alpha_dirs)}) must pair up")
        self.fg_dirs, self.alpha_dirs = fg_dirs, alpha_dirs
        self.interpolation = check_interpolation(interpolation, "CompositeFg", "cv2")
        self._fg_files: list[Path] = []
        self._alpha_files: list[Path] = []
        for fg_dir, alpha_dir in zip(fg_dirs, alpha_dirs):
            fgs, alphas = _list_images(fg_dir, "CompositeFg"), _list_images(alpha_dir, "CompositeFg")
            if len(fgs) != len(alphas):
                raise ConfigError(f"CompositeFg: {fg_dir} and {alpha_dir} hold {len(fgs)} and {len(alphas)} images; "
                                  "each foreground needs its alpha")
            self._fg_files += fgs
            self._alpha_files += alphas

    def __call__(self, sample: dict) -> dict:
        fg = require_image(sample, "fg", "CompositeFg")
        alpha = require_image(sample, "alpha", "CompositeFg") / 255.0
        height, width = fg.shape[:2]
        rng = sample_rng(sample, self)
        if rng.random() < 0.5:
            index = int(rng.integers(len(self._fg_files)))
            fg2 = _resize(read_image(self._fg_files[index], "color", sample.get("fg_channel_order", "bgr")),
                          width, height, self.interpolation)
            alpha2 = _resize(read_image(self._alpha_files[index], "grayscale") / 255.0, width, height,
                             self.interpolation).reshape(height, width, 1)
            combined = 1 - (1 - alpha) * (1 - alpha2)
            if np.any(combined < 1):
                fg = fg * alpha + fg2 * (1 - alpha)
                alpha = combined
        sample["fg"], sample["alpha"] = fg, alpha * 255
        return sample


class RandomLoadResizeBg:
    """``bg``: a random image of ``bg_dir`` (``flag``, ``channel_order``) resized bicubically to fg's size."""

    def __init__(self, bg_dir: str, flag: str = "color", channel_order: str = "bgr") -> None:
        if flag not in ("color", "grayscale", "unchanged"):
            raise ConfigError(f"RandomLoadResizeBg: flag must be color, grayscale or unchanged, got {flag!r}")
        self.bg_dir, self.flag, self.channel_order = bg_dir, flag, channel_order
        self._files = _list_images(bg_dir, "RandomLoadResizeBg")

    def __call__(self, sample: dict) -> dict:
        height, width = require_image(sample, "fg", "RandomLoadResizeBg").shape[:2]
        path = self._files[int(sample_rng(sample, self).integers(len(self._files)))]
        sample["bg"] = _resize(read_image(path, self.flag, self.channel_order), width, height, "bicubic")
        sample["bg_channel_order"] = self.channel_order
        return sample


class PerturbBg:
    """``noisy_bg``: with probability 1 − ``gamma_ratio`` bg + N(μ ∈ [−7, 7), σ ∈ [2, 6)) clipped to
    [0, 255] (float32), else bg gamma-corrected with γ ~ N(1, 0.12)."""

    def __init__(self, gamma_ratio: float = 0.6) -> None:
        if isinstance(gamma_ratio, bool) or not isinstance(gamma_ratio, (int, float)) or not 0 <= gamma_ratio <= 1:
            raise ConfigError(f"PerturbBg: gamma_ratio must be a number in [0, 1], got {gamma_ratio!r}")
        self.gamma_ratio = float(gamma_ratio)

    def __call__(self, sample: dict) -> dict:
        bg = require_image(sample, "bg", "PerturbBg")
        rng = sample_rng(sample, self)
        if rng.random() >= self.gamma_ratio:
            mu, sigma = int(rng.integers(-7, 7)), int(rng.integers(2, 6))
            sample["noisy_bg"] = np.clip(bg.astype(np.float32) + rng.normal(mu, sigma, bg.shape), 0, 255)
        else:
            if np.any(bg < 0):
                raise MgxError("PerturbBg: gamma correction needs a non-negative background")
            scale = 255.0 if bg.dtype == np.uint8 else 1.0  # skimage's dtype range (floats: [0, 1])
            sample["noisy_bg"] = ((bg / scale) ** rng.normal(1, 0.12) * scale).astype(bg.dtype)
        return sample


def bgr_to_hsv(image: np.ndarray) -> np.ndarray:
    """OpenCV's float BGR → HSV: H in [0, 360), S and V in [0, 1]."""
    eps = np.finfo(np.float32).eps
    blue, green, red = image[..., 0], image[..., 1], image[..., 2]
    value, low = image.max(axis=-1), image.min(axis=-1)
    diff = value - low
    saturation = diff / (np.abs(value) + eps)
    step = 60.0 / (diff + eps)
    hue = np.where(value == red, (green - blue) * step,
                   np.where(value == green, (blue - red) * step + 120, (red - green) * step + 240))
    hue = np.where(hue < 0, hue + 360, hue)
    return np.stack([hue, saturation, value], axis=-1).astype(image.dtype)


def hsv_to_bgr(image: np.ndarray) -> np.ndarray:
    """OpenCV's float HSV → BGR."""
    hue, saturation, value = image[..., 0] / 60.0, image[..., 1], image[..., 2]
    sector = np.floor(hue)
    fraction = hue - sector
    sector = sector.astype(np.int64) % 6
    table = np.stack([value, value * (1 - saturation), value * (1 - saturation * fraction),
                      value * (1 - saturation * (1 - fraction))])
    picks = np.array([[1, 3, 0], [1, 0, 2], [3, 0, 1], [0, 2, 1], [0, 1, 3], [2, 1, 0]])[sector]  # (b, g, r)
    out = np.stack([np.take_along_axis(table, picks[None, ..., channel], 0)[0] for channel in range(3)], axis=-1)
    return np.where((saturation == 0)[..., None], value[..., None], out).astype(image.dtype)


class RandomJitter:
    """Jitter the foreground's hue by an integer in [``hue_range``), and its saturation and value each by
    (1.1 − mean over alpha > 0)·U(−0.1, 0.1), reflected back into [0, 1]. fg becomes float in [0, 255].
    A sample without foreground pixels keeps its saturation and value (MMagic's mean would be NaN)."""

    def __init__(self, hue_range: Any = 40) -> None:
        if isinstance(hue_range, (int, float)) and not isinstance(hue_range, bool) and hue_range >= 0:
            self.hue_range = (-hue_range, hue_range)
        elif isinstance(hue_range, (tuple, list)) and len(hue_range) == 2:
            self.hue_range = tuple(hue_range)
        else:
            raise ConfigError(f"RandomJitter: hue_range must be a number ≥ 0 or a (low, high) pair, "
                              f"got {hue_range!r}")

    def __call__(self, sample: dict) -> dict:
        fg = require_image(sample, "fg", "RandomJitter")
        alpha = require_image(sample, "alpha", "RandomJitter")[:, :, 0]
        rgb = sample.get("fg_channel_order", "bgr") == "rgb"
        hsv = bgr_to_hsv((fg[..., ::-1] if rgb else fg).astype(np.float32) / 255)
        rng = sample_rng(sample, self)
        hsv[:, :, 0] = np.remainder(hsv[:, :, 0] + rng.integers(int(self.hue_range[0]), int(self.hue_range[1])), 360)
        for channel in (1, 2):
            plane = hsv[:, :, channel]
            inside = plane[alpha > 0]
            jitter = (1.1 - inside.mean()) * (rng.random() * 0.2 - 0.1) if inside.size else 0.0
            plane = np.abs(plane + jitter)
            plane[plane > 1] = 2 - plane[plane > 1]
            hsv[:, :, channel] = plane
        bgr = hsv_to_bgr(hsv) * 255
        sample["fg"] = bgr[..., ::-1].copy() if rgb else bgr
        return sample


class RandomAffine:
    """GCA's random affine (torchvision's, with independent x/y scales and flips) on ``keys``, nearest
    neighbour, zeros outside: angle from ``degrees`` only for images of 1024 px or more (smaller ones are
    not rotated, as in MMagic), translation up to ``translate`` × size, scales from ``scale``, shear from
    ``shear``, each axis flipped with probability ``flip_ratio``."""

    def __init__(self, keys: Any, degrees: Any, translate: Any = None, scale: Any = None, shear: Any = None,
                 flip_ratio: float | None = None) -> None:
        self.keys = keys_arg(keys, "RandomAffine", allow_none=False)
        self.degrees = self._range(degrees, "degrees")
        self.translate = None if translate is None else tuple(float(t) for t in translate)
        if self.translate is not None and (len(self.translate) != 2 or not all(0 <= t <= 1 for t in self.translate)):
            raise ConfigError(f"RandomAffine: translate must be two fractions in [0, 1], got {translate!r}")
        self.scale = None if scale is None else tuple(float(s) for s in scale)
        if self.scale is not None and (len(self.scale) != 2 or min(self.scale) <= 0):
            raise ConfigError(f"RandomAffine: scale must be two positive numbers, got {scale!r}")
        self.shear = None if shear is None else self._range(shear, "shear")
        self.flip_ratio = 0.0 if flip_ratio is None else float(flip_ratio)

    @staticmethod
    def _range(value: Any, name: str) -> tuple[float, float]:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
            return (-float(value), float(value))
        if isinstance(value, (tuple, list)) and len(value) == 2:
            return (float(value[0]), float(value[1]))
        raise ConfigError(f"RandomAffine: {name} must be a number ≥ 0 or a (min, max) pair, got {value!r}")

    def _params(self, rng: np.random.Generator, height: int, width: int) -> tuple:
        degrees = self.degrees if max(height, width) >= 1024 else (0.0, 0.0)
        angle = rng.uniform(*degrees)
        if self.translate is not None:
            max_dx, max_dy = self.translate[0] * height, self.translate[1] * width  # MMagic's (h, w) order
            translation = (np.round(rng.uniform(-max_dx, max_dx)), np.round(rng.uniform(-max_dy, max_dy)))
        else:
            translation = (0.0, 0.0)
        scale = (rng.uniform(*self.scale), rng.uniform(*self.scale)) if self.scale is not None else (1.0, 1.0)
        shear = rng.uniform(*self.shear) if self.shear is not None else 0.0
        flip = (rng.random(2) > self.flip_ratio).astype(np.int32) * 2 - 1
        return angle, translation, scale, shear, flip

    @staticmethod
    def inverse_matrix(center, angle, translate, scale, shear, flip) -> np.ndarray:
        """The 2×3 map from output to input pixel coordinates (flip, scale, rotation, shear about ``center``)."""
        angle, shear = math.radians(angle), math.radians(shear)
        scale_x, scale_y = 1.0 / scale[0] * flip[0], 1.0 / scale[1] * flip[1]
        det = math.cos(angle + shear) * math.cos(angle) + math.sin(angle + shear) * math.sin(angle)
        m = [math.cos(angle) * scale_x, math.sin(angle + shear) * scale_x, 0.0,
             -math.sin(angle) * scale_y, math.cos(angle + shear) * scale_y, 0.0]
        m = [value / det for value in m]
        m[2] += m[0] * (-center[0] - translate[0]) + m[1] * (-center[1] - translate[1]) + center[0]
        m[5] += m[3] * (-center[0] - translate[0]) + m[4] * (-center[1] - translate[1]) + center[1]
        return np.array(m).reshape(2, 3)

    def __call__(self, sample: dict) -> dict:
        height, width = require_image(sample, self.keys[0], "RandomAffine").shape[:2]
        matrix = self.inverse_matrix((width * 0.5 - 0.5, height * 0.5 - 0.5),
                                     *self._params(sample_rng(sample, self), height, width))
        ys, xs = np.mgrid[0:height, 0:width]
        source_x = np.floor(matrix[0, 0] * xs + matrix[0, 1] * ys + matrix[0, 2] + 0.5).astype(np.int64)
        source_y = np.floor(matrix[1, 0] * xs + matrix[1, 1] * ys + matrix[1, 2] + 0.5).astype(np.int64)
        inside = (source_x >= 0) & (source_x < width) & (source_y >= 0) & (source_y < height)
        for key in self.keys:
            image = require_image(sample, key, "RandomAffine")
            warped = np.zeros_like(image)
            warped[inside] = image[source_y[inside], source_x[inside]]
            sample[key] = warped
        return sample


def _crop_size(value: Any, who: str) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value, value
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(v, int) and v > 0 for v in value):
        return int(value[0]), int(value[1])
    raise ConfigError(f"{who}: a crop size must be a positive int or (h, w) ints, got {value!r}")


def choose_unknown(rng: np.random.Generator, unknown: np.ndarray, crop: tuple[int, int]) -> tuple[int, int]:
    """MMagic's ``random_choose_unknown``: a random unknown pixel (preferring those a crop centred on it
    keeps inside the image; the image centre when there is none) as the crop's centre; (top, left)."""
    height, width = unknown.shape
    crop_h, crop_w = crop
    half_h, half_w = crop_h // 2, crop_w // 2
    inner = np.zeros_like(unknown)
    inner[half_h:height - half_h, half_w:width - half_w] = True
    candidates = unknown & inner if np.any(unknown & inner) else unknown
    if np.any(candidates):
        rows, cols = np.where(candidates)
    else:
        rows, cols = np.array([half_h]), np.array([half_w])
    index = int(rng.integers(len(rows)))
    return int(np.clip(rows[index] - half_h, 0, height - crop_h)), int(np.clip(cols[index] - half_w, 0, width - crop_w))


class CropAroundUnknown:
    """Crop ``keys`` to one of ``crop_sizes`` (drawn at random) around a random unknown pixel (alpha strictly
    between 0 and 255, or trimap 128 with ``unknown_source='trimap'``); images smaller than the crop are
    first enlarged (``interpolations``, one or one per key). Records ``crop_bbox`` (left, top, right, bottom)."""

    def __init__(self, keys: Any, crop_sizes: Any, unknown_source: str = "alpha",
                 interpolations: Any = "bilinear") -> None:
        self.keys = keys_arg(keys, "CropAroundUnknown", allow_none=False)
        if "alpha" not in self.keys:
            raise ConfigError(f"CropAroundUnknown: keys must contain 'alpha', got {list(self.keys)}")
        if not isinstance(crop_sizes, list) or not crop_sizes:
            raise ConfigError(f"CropAroundUnknown: crop_sizes must be a non-empty list, got {crop_sizes!r}")
        self.crop_sizes = [_crop_size(size, "CropAroundUnknown") for size in crop_sizes]
        if unknown_source not in ("alpha", "trimap") or unknown_source not in self.keys:
            raise ConfigError(f"CropAroundUnknown: unknown_source must be 'alpha' or 'trimap' and in keys, got "
                              f"{unknown_source!r}")
        self.unknown_source = unknown_source
        if isinstance(interpolations, str):
            interpolations = [interpolations] * len(self.keys)
        if not (isinstance(interpolations, (list, tuple)) and len(interpolations) == len(self.keys)):
            raise ConfigError(f"CropAroundUnknown: interpolations must be one name or one per key, "
                              f"got {interpolations!r}")
        self.interpolations = [check_interpolation(name, "CropAroundUnknown", "cv2") for name in interpolations]

    def __call__(self, sample: dict) -> dict:
        height, width = require_image(sample, self.keys[0], "CropAroundUnknown").shape[:2]
        rng = sample_rng(sample, self)
        crop_h, crop_w = self.crop_sizes[int(rng.integers(len(self.crop_sizes)))]
        ratio = max(crop_h / height, crop_w / width)
        if ratio > 1:
            height, width = max(int(height * ratio), crop_h), max(int(width * ratio), crop_w)
            for key, interpolation in zip(self.keys, self.interpolations):
                sample[key] = _resize(require_image(sample, key, "CropAroundUnknown"), width, height, interpolation)
        if self.unknown_source == "alpha":
            unknown = (sample["alpha"] > 0) & (sample["alpha"] < 255)
        else:
            unknown = sample["trimap"] == 128
        top, left = choose_unknown(rng, unknown.reshape(height, width), (crop_h, crop_w))
        for key in self.keys:
            sample[key] = sample[key][top:top + crop_h, left:left + crop_w]
        sample["crop_bbox"] = (left, top, left + crop_w, top + crop_h)
        return sample


class CropAroundCenter:
    """GCA's crop of fg, bg, alpha and trimap to ``crop_size``: top-left at a random unknown pixel of the
    trimap at 1/4 scale inside the central region (anywhere when it has fewer than 10); images smaller than
    the crop are first enlarged (nearest; bg bicubic). Records ``crop_bbox``."""

    def __init__(self, crop_size: Any) -> None:
        self.crop_size = _crop_size(crop_size, "CropAroundCenter")

    def __call__(self, sample: dict) -> dict:
        fg, bg = require_image(sample, "fg", "CropAroundCenter"), require_image(sample, "bg", "CropAroundCenter")
        alpha, trimap = sample["alpha"], require_image(sample, "trimap", "CropAroundCenter")
        if bg.shape != fg.shape:
            raise MgxError(f"CropAroundCenter: bg {bg.shape} and fg {fg.shape} differ in shape")
        height, width = fg.shape[:2]
        crop_h, crop_w = self.crop_size
        ratio = max(crop_h / height, crop_w / width)
        if ratio > 1:
            height, width = max(int(height * ratio), crop_h), max(int(width * ratio), crop_w)
            fg, alpha, trimap = (_resize(image, width, height, "nearest") for image in (fg, alpha, trimap))
            bg = _resize(bg, width, height, "bicubic")
        small = _resize(trimap, width // 4, height // 4, "nearest").reshape(height // 4, width // 4)
        margin_h, margin_w = crop_h // 2, crop_w // 2
        area = small[margin_h // 4:(height - margin_h) // 4, margin_w // 4:(width - margin_w) // 4]
        rows, cols = np.where(area == 128)
        rng = sample_rng(sample, self)
        if len(rows) < 10:
            top, left = int(rng.integers(0, height - crop_h + 1)), int(rng.integers(0, width - crop_w + 1))
        else:
            index = int(rng.integers(len(rows)))
            top, left = int(rows[index]) * 4, int(cols[index]) * 4
        window = (slice(top, top + crop_h), slice(left, left + crop_w))
        sample.update(fg=fg[window], alpha=alpha[window], trimap=trimap[window], bg=bg[window],
                      crop_bbox=(left, top, left + crop_w, top + crop_h))
        return sample


__all__ = ["CompositeFg", "CropAroundCenter", "CropAroundUnknown", "MergeFgAndBg", "PerturbBg", "RandomAffine",
           "RandomJitter", "RandomLoadResizeBg", "bgr_to_hsv", "hsv_to_bgr"]
