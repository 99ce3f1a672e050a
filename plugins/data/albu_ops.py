"""The augmentations behind ``albu_transforms.py`` (albumentations 1.x's defaults), on numpy/scipy.

Geometric ops draw their parameters once (``draw``) so that a pair of images moves alike
(``apply``). Corruptions are built from a config entry's arguments and called as ``op(image, rng)``.
Images are H×W(×C); uint8 stays uint8 (rounded, saturated), float stays float.
"""
from __future__ import annotations

import inspect
import math

import numpy as np

from mgx.core.errors import ConfigError

from .blur import correlate_reflect101
from .pixel_degradations import jpeg_round_trip


def _as_input_dtype(result: np.ndarray, like: np.ndarray) -> np.ndarray:
    if like.dtype == np.uint8:
        return np.clip(np.rint(result), 0, 255).astype(np.uint8)
    return result.astype(like.dtype)


def _max_value(image: np.ndarray) -> float:
    return 255.0 if image.dtype == np.uint8 else 1.0


def _planes(image: np.ndarray) -> np.ndarray:
    return image[..., None] if image.ndim == 2 else image


def _remap(image: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Bilinear sampling of ``image`` at (rows, cols), borders reflected (BORDER_REFLECT_101)."""
    from scipy.ndimage import map_coordinates

    planes = _planes(image).astype(np.float64)
    out = np.stack([map_coordinates(planes[..., c], [rows, cols], order=1, mode="mirror")
                    for c in range(planes.shape[2])], axis=-1)
    return _as_input_dtype(out[..., 0] if image.ndim == 2 else out, image)


def _grid(shape: tuple) -> tuple[np.ndarray, np.ndarray]:
    return np.meshgrid(np.arange(shape[0], dtype=np.float64), np.arange(shape[1], dtype=np.float64), indexing="ij")


def _warp_affine(image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """OpenCV's warpAffine: ``matrix`` (2×3, x/y order) maps source to destination pixels."""
    inverse = np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))
    rows, cols = _grid(image.shape[:2])
    src_x = inverse[0, 0] * cols + inverse[0, 1] * rows + inverse[0, 2]
    src_y = inverse[1, 0] * cols + inverse[1, 1] * rows + inverse[1, 2]
    return _remap(image, src_y, src_x)


def pad_if_needed(image: np.ndarray, size: int) -> np.ndarray:
    """PadIfNeeded(size, size): reflect-101 padding, split evenly (the extra pixel bottom/right)."""
    pad_h, pad_w = max(size - image.shape[0], 0), max(size - image.shape[1], 0)
    if not (pad_h or pad_w):
        return image
    widths = [(pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2)] + [(0, 0)] * (image.ndim - 2)
    return np.pad(image, widths, mode="reflect")


class _Op:
    swaps_axes = False


class HorizontalFlip(_Op):
    def draw(self, rng, shape):
        return None

    def apply(self, image, params):
        return np.ascontiguousarray(image[:, ::-1])


class Transpose(_Op):
    swaps_axes = True

    def draw(self, rng, shape):
        return None

    def apply(self, image, params):
        return np.ascontiguousarray(np.swapaxes(image, 0, 1))


class ShiftScaleRotate(_Op):
    """shift ±0.0625 of the size, scale 1 ± 0.1, rotation ±45° about the centre."""

    def draw(self, rng, shape):
        return (rng.uniform(-45, 45), 1 + rng.uniform(-0.1, 0.1), rng.uniform(-0.0625, 0.0625),
                rng.uniform(-0.0625, 0.0625))

    def apply(self, image, params):
        angle, scale, dx, dy = params
        height, width = image.shape[:2]
        cos, sin = math.cos(math.radians(angle)) * scale, math.sin(math.radians(angle)) * scale
        cx, cy = width / 2, height / 2  # OpenCV's getRotationMatrix2D about the centre
        matrix = np.array([[cos, sin, (1 - cos) * cx - sin * cy + dx * width],
                           [-sin, cos, sin * cx + (1 - cos) * cy + dy * height]])
        return _warp_affine(image, matrix)


class OpticalDistortion(_Op):
    """Radial (barrel/pincushion) distortion k ∈ ±0.05 about the centre, OpenCV's camera model with
    fx = width, fy = height (the ±0.05 centre shift rounds to 0 pixels, as in albumentations)."""

    def draw(self, rng, shape):
        return rng.uniform(-0.05, 0.05)

    def apply(self, image, k):
        height, width = image.shape[:2]
        rows, cols = _grid(image.shape[:2])
        x, y = (cols - width * 0.5) / width, (rows - height * 0.5) / height
        r2 = x * x + y * y
        factor = 1 + k * r2 + k * r2 * r2
        return _remap(image, y * factor * height + height * 0.5, x * factor * width + width * 0.5)


class ElasticTransform(_Op):
    """Random affine (3 anchor points moved by ±50 px), then displacement fields of unit amplitude
    (alpha 1) smoothed by a 17-tap Gaussian of sigma 50."""

    def draw(self, rng, shape):
        height, width = shape[:2]
        return (rng.uniform(-50, 50, size=(3, 2)), rng.uniform(-1, 1, size=(height, width)),
                rng.uniform(-1, 1, size=(height, width)))

    def apply(self, image, params):
        from scipy.ndimage import gaussian_filter

        shifts, noise_x, noise_y = params
        height, width = image.shape[:2]
        centre, square = np.array([width // 2, height // 2], dtype=np.float64), min(height, width) // 3
        anchors = np.array([centre + square, [centre[0] + square, centre[1] - square], centre - square])
        moved = anchors + shifts
        # the affine map taking anchors to moved (OpenCV's getAffineTransform), solved exactly
        solution = np.linalg.solve(np.hstack([anchors, np.ones((3, 1))]), moved)
        image = _warp_affine(image, solution.T)
        blur = dict(sigma=50, truncate=8 / 50, mode="mirror")
        dx, dy = gaussian_filter(noise_x, **blur), gaussian_filter(noise_y, **blur)
        rows, cols = _grid(image.shape[:2])
        return _remap(image, rows + dy, cols + dx)


GEOMETRIC = {"flip": HorizontalFlip(), "shift_scale_rotate": ShiftScaleRotate(), "transpose": Transpose(),
             "optical_distortion": OpticalDistortion(), "elastic": ElasticTransform()}


# -- corruptions ----------------------------------------------------------


def _limit(value, name: str, where: str, low_default=None) -> tuple[float, float]:
    """albumentations' ``x_limit``: a number v means (-v, v) (or (low_default, v)), a pair is kept."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (-float(value), float(value)) if low_default is None else (float(low_default), float(value))
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        return float(value[0]), float(value[1])
    raise ConfigError(f"{where}: {name} must be a number or a (low, high) pair, got {value!r}")


def _odd_sizes(blur_limit, where: str) -> list[int]:
    low, high = _limit(blur_limit, "blur_limit", where, low_default=3)
    sizes = [k for k in range(max(3, int(low)), int(high) + 1) if k % 2 == 1]
    if not sizes:
        raise ConfigError(f"{where}: blur_limit {blur_limit!r} leaves no odd kernel size ≥ 3")
    return sizes


def cutout(where, num_holes=8, max_h_size=8, max_w_size=8, fill_value=0, always_apply=False):
    def run(image, rng):
        out = image.copy()
        height, width = image.shape[:2]
        for _ in range(int(num_holes)):
            y, x = int(rng.integers(height)), int(rng.integers(width))
            y1, x1 = max(0, y - max_h_size // 2), max(0, x - max_w_size // 2)
            out[y1:min(height, y1 + max_h_size), x1:min(width, x1 + max_w_size)] = fill_value
        return out
    return run


def jpeg(where, quality_lower=99, quality_upper=100, always_apply=False):
    if not 1 <= quality_lower <= quality_upper <= 100:
        raise ConfigError(f"{where}: need 1 ≤ quality_lower ≤ quality_upper ≤ 100, got {quality_lower}, {quality_upper}")

    def run(image, rng):
        quality = int(rng.integers(quality_lower, quality_upper + 1))
        as_uint8 = _as_input_dtype(image * (255.0 if image.dtype != np.uint8 else 1.0), np.zeros(1, np.uint8))
        out = jpeg_round_trip(as_uint8, quality, as_bgr=False).reshape(image.shape)
        return out if image.dtype == np.uint8 else (out / 255.0).astype(image.dtype)
    return run


def motion_blur(where, blur_limit=7, always_apply=False):
    sizes = _odd_sizes(blur_limit, where)

    def run(image, rng):
        size = sizes[int(rng.integers(len(sizes)))]
        kernel = np.zeros((size, size))
        x0, x1 = rng.integers(size, size=2)
        y0, y1 = (rng.choice(size, size=2, replace=False) if x0 == x1 else rng.integers(size, size=2))
        steps = max(abs(int(x1) - int(x0)), abs(int(y1) - int(y0))) + 1
        kernel[np.rint(np.linspace(y0, y1, steps)).astype(int), np.rint(np.linspace(x0, x1, steps)).astype(int)] = 1
        return correlate_reflect101(image, kernel / kernel.sum())
    return run


def median_blur(where, blur_limit=7, always_apply=False):
    sizes = _odd_sizes(blur_limit, where)

    def run(image, rng):
        from scipy.ndimage import median_filter

        size = sizes[int(rng.integers(len(sizes)))]
        return median_filter(image, size=(size, size) + (1,) * (image.ndim - 2), mode="nearest")
    return run


def gamma(where, gamma_limit=(80, 120), eps=None, always_apply=False):
    low, high = _limit(gamma_limit, "gamma_limit", where, low_default=1)

    def run(image, rng):
        value = rng.uniform(low, high) / 100.0
        top = _max_value(image)
        return _as_input_dtype(top * np.power(image.astype(np.float64) / top, value), image)
    return run


def rgb_shift(where, r_shift_limit=20, g_shift_limit=20, b_shift_limit=20, always_apply=False):
    limits = [_limit(v, n, where) for v, n in ((r_shift_limit, "r_shift_limit"), (g_shift_limit, "g_shift_limit"),
                                               (b_shift_limit, "b_shift_limit"))]

    def run(image, rng):
        shifts = np.array([rng.uniform(*limit) for limit in limits])
        out = _planes(image).astype(np.float64) + shifts[:_planes(image).shape[2]]
        return _as_input_dtype(np.clip(out, 0, _max_value(image)).reshape(image.shape), image)
    return run


def _rgb_to_hsv(rgb: np.ndarray) -> np.ndarray:
    """RGB in [0, 1] -> H in degrees [0, 360), S and V in [0, 1]."""
    top, bottom = rgb.max(axis=-1), rgb.min(axis=-1)
    delta = top - bottom
    safe = np.where(delta > 0, delta, 1)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    hue = np.where(top == r, (g - b) / safe, np.where(top == g, 2 + (b - r) / safe, 4 + (r - g) / safe))
    hue = np.where(delta > 0, (hue * 60) % 360, 0)
    return np.stack([hue, np.where(top > 0, delta / np.where(top > 0, top, 1), 0), top], axis=-1)


def _hsv_to_rgb(hsv: np.ndarray) -> np.ndarray:
    hue, sat, val = hsv[..., 0] / 60.0, hsv[..., 1], hsv[..., 2]
    k = np.stack([(5 + hue) % 6, (3 + hue) % 6, (1 + hue) % 6], axis=-1)
    return val[..., None] - val[..., None] * sat[..., None] * np.clip(np.minimum(k, 4 - k), 0, 1)


def hsv_shift(where, hue_shift_limit=20, sat_shift_limit=30, val_shift_limit=20, always_apply=False):
    """OpenCV's 8-bit HSV: hue in units of 2° (0..179), saturation and value in 0..255."""
    limits = [_limit(v, n, where) for v, n in ((hue_shift_limit, "hue_shift_limit"),
                                               (sat_shift_limit, "sat_shift_limit"),
                                               (val_shift_limit, "val_shift_limit"))]

    def run(image, rng):
        if _planes(image).shape[2] != 3:
            return image
        hue, sat, val = (rng.uniform(*limit) for limit in limits)
        top = _max_value(image)
        hsv = _rgb_to_hsv(image.astype(np.float64) / top)
        hsv[..., 0] = (hsv[..., 0] + 2 * hue) % 360
        hsv[..., 1] = np.clip(hsv[..., 1] + sat / 255.0, 0, 1)
        hsv[..., 2] = np.clip(hsv[..., 2] + val / 255.0, 0, 1)
        return _as_input_dtype(_hsv_to_rgb(hsv) * top, image)
    return run


def sharpen(where, alpha=(0.2, 0.5), lightness=(0.5, 1.0), always_apply=False):
    alpha_range, light_range = _limit(alpha, "alpha", where), _limit(lightness, "lightness", where)

    def run(image, rng):
        a, light = rng.uniform(*alpha_range), rng.uniform(*light_range)
        identity = np.zeros((3, 3))
        identity[1, 1] = 1
        effect = -np.ones((3, 3))
        effect[1, 1] = 8 + light
        return correlate_reflect101(image, (1 - a) * identity + a * effect)
    return run


def brightness_contrast(where, brightness_limit=0.2, contrast_limit=0.2, brightness_by_max=True,
                        always_apply=False):
    b_range, c_range = _limit(brightness_limit, "brightness_limit", where), _limit(contrast_limit, "contrast_limit", where)

    def run(image, rng):
        contrast, brightness = 1 + rng.uniform(*c_range), rng.uniform(*b_range)
        top = _max_value(image)
        offset = brightness * (top if brightness_by_max else image.mean())
        return _as_input_dtype(np.clip(image.astype(np.float64) * contrast + offset, 0, top), image)
    return run


def gray(where, always_apply=False):
    def run(image, rng):
        if _planes(image).shape[2] != 3:
            return image
        luma = image.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
        return _as_input_dtype(np.repeat(luma[..., None], 3, axis=-1), image)
    return run


def pixelize(where, scale_min=0.25, scale_max=0.25, interpolation=None, always_apply=False):
    if not 0 < scale_min <= scale_max < 1:
        raise ConfigError(f"{where}: need 0 < scale_min ≤ scale_max < 1, got {scale_min}, {scale_max}")

    def run(image, rng):
        scale = rng.uniform(scale_min, scale_max)
        height, width = image.shape[:2]
        small_h, small_w = max(1, int(height * scale)), max(1, int(width * scale))
        rows = (np.arange(small_h) * height / small_h).astype(int)
        cols = (np.arange(small_w) * width / small_w).astype(int)
        small = image[rows][:, cols]
        return np.ascontiguousarray(small[(np.arange(height) * small_h // height)][:, np.arange(width) * small_w // width])
    return run


def _checked(factory):
    """The factory, with a ConfigError naming the entry for arguments it does not take."""
    accepted = [name for name in inspect.signature(factory).parameters if name != "where"]

    def build(where, **kwargs):
        unknown = sorted(set(kwargs) - set(accepted))
        if unknown:
            raise ConfigError(f"{where}: unknown argument(s) {unknown}; it takes {accepted} (and prob)")
        return factory(where, **kwargs)
    return build


CORRUPTIONS = {name: _checked(factory) for name, factory in (
    ("cutout", cutout), ("jpeg", jpeg), ("motion_blur", motion_blur), ("median_blur", median_blur),
    ("gamma", gamma), ("rgb_shift", rgb_shift), ("hsv_shift", hsv_shift), ("sharpen", sharpen),
    ("brightness_contrast", brightness_contrast), ("gray", gray), ("pixelize", pixelize))}
NOT_IMPLEMENTED = ("snow", "shadow", "fog", "sun_flare")
