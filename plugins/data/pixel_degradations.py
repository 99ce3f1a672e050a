"""Pixel-level degradations of MMagic 1.2.0's restoration configs: RandomNoise, RandomJPEGCompression,
UnsharpMasking (numpy and Pillow; OpenCV's definitions where MMagic calls OpenCV)."""
from __future__ import annotations

import io
from typing import Any

import numpy as np

from mgx.core.errors import ConfigError

from .images import require_image
from .transform_utils import RandomDegradation, keys_arg, sample_rng


def _frames(sample: dict, key: str, who: str) -> tuple[list[np.ndarray], bool]:
    value = sample.get(key)
    if isinstance(value, list):
        return value, True
    return [require_image(sample, key, who)], False


def _require_params(params: Any, names: tuple[str, ...], who: str) -> dict:
    if not isinstance(params, dict):
        raise ConfigError(f"{who}: params must be a dict, got {params!r}")
    missing = [name for name in names if name not in params]
    if missing:
        raise ConfigError(f"{who}: params needs {missing} (got {sorted(params)})")
    return params


class RandomNoise(RandomDegradation):
    """Add Gaussian or Poisson noise to each of ``keys`` (MMagic's definition; the result is float32).

    ``params``: ``noise_type`` / ``noise_prob`` (drawn), ``prob`` (apply at
    all); Gaussian: ``gaussian_sigma=[lo, hi]`` (σ uniform, in pixel units),
    ``gaussian_gray_noise_prob`` (one noise plane for all channels),
    ``gaussian_sigma_step``; Poisson: ``poisson_scale=[lo, hi]``,
    ``poisson_gray_noise_prob``, ``poisson_scale_step``. Poisson noise counts
    ``round(x)·v`` events, v the power of two above the number of distinct levels.
    """

    def __init__(self, params: dict, keys: Any) -> None:
        self.params = _require_params(params, ("noise_type", "noise_prob"), "RandomNoise")
        kinds = [str(kind).lower() for kind in params["noise_type"]]
        if not set(kinds) <= {"gaussian", "poisson"} or len(kinds) != len(params["noise_prob"]):
            raise ConfigError(f"RandomNoise: noise_type must list 'gaussian'/'poisson' with one noise_prob each; "
                              f"got {params['noise_type']!r}, {params['noise_prob']!r}")
        needed = {"gaussian": ("gaussian_sigma", "gaussian_gray_noise_prob"),
                  "poisson": ("poisson_scale", "poisson_gray_noise_prob")}
        for kind in kinds:
            _require_params(params, needed[kind], f"RandomNoise({kind})")
        self.keys = keys_arg(keys, "RandomNoise", allow_none=False)

    def _gaussian(self, images: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
        low, high = self.params["gaussian_sigma"]
        sigma = rng.uniform(low, high)
        step = self.params.get("gaussian_sigma_step", 0)
        gray = rng.uniform() < self.params["gaussian_gray_noise_prob"]
        outputs = []
        for image in images:
            noise = rng.standard_normal(image.shape).astype(np.float32) * np.float32(sigma)
            if gray:
                noise = noise[:, :, :1]
            outputs.append(image + noise)
            sigma = float(np.clip(sigma + rng.uniform(-step, step), low, high))
        return outputs

    def _poisson(self, images: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
        low, high = self.params["poisson_scale"]
        scale = rng.uniform(low, high)
        step = self.params.get("poisson_scale_step", 0)
        gray = rng.uniform() < self.params["poisson_gray_noise_prob"]
        outputs = []
        for image in images:
            levels = image.astype(np.float32)
            if gray:  # MMagic converts as if the image were RGB: 0.299 R + 0.587 G + 0.114 B
                levels = (levels[..., 0] * 0.299 + levels[..., 1] * 0.587 + levels[..., 2] * 0.114)[..., None]
            levels = np.clip(np.round(levels), 0, 255)
            unique = 2 ** np.ceil(np.log2(len(np.unique(levels))))
            noise = rng.poisson(levels * unique).astype(np.float32) / unique - levels
            outputs.append(image + noise * np.float32(scale))
            scale = float(np.clip(scale + rng.uniform(-step, step), low, high))
        return outputs

    def degrade(self, images: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
        kind = str(rng.choice([str(k).lower() for k in self.params["noise_type"]], p=self.params["noise_prob"]))
        return self._gaussian(images, rng) if kind == "gaussian" else self._poisson(images, rng)


def jpeg_round_trip(image: np.ndarray, quality: int, as_bgr: bool) -> np.ndarray:
    """Encode ``image`` (uint8) as JPEG at ``quality`` and decode it, with Pillow's libjpeg (4:2:0).

    ``as_bgr``: the channels are read as B, G, R (what OpenCV's encoder assumes).
    """
    from PIL import Image

    pixels = np.clip(np.rint(image), 0, 255).astype(np.uint8) if image.dtype != np.uint8 else image
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    if pixels.ndim == 3 and as_bgr:
        pixels = pixels[..., ::-1]
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buffer, format="JPEG", quality=int(quality))
    decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())))
    if decoded.ndim == 3 and as_bgr:
        decoded = decoded[..., ::-1]
    return np.ascontiguousarray(decoded)


class RandomJPEGCompression(RandomDegradation):
    """JPEG-compress each of ``keys`` at a quality drawn from ``params['quality']=[lo, hi]`` (MMagic's).

    ``params``: ``quality``, ``quality_step`` (frames drift), ``prob``.
    ``color_type``: ``'color'`` decodes to 3 channels, ``'grayscale'`` to H×W.
    The constructor's wins; without it, one inside ``params`` is used, else
    ``'color'``. (MMagic reads only the constructor's, so its gray JPEG configs,
    which set it in ``params``, turn their gray inputs into 3 channels and stop
    at the 1-channel network; here they run as written.) ``bgr2rgb``: MMagic's
    channel swap around its OpenCV encoder; without it the channels are read as B, G, R.
    """

    def __init__(self, params: dict, keys: Any, color_type: str | None = None, bgr2rgb: bool = False) -> None:
        self.params = _require_params(params, ("quality",), "RandomJPEGCompression")
        low, high = params["quality"]
        if not 0 <= low <= high <= 100:
            raise ConfigError(f"RandomJPEGCompression: quality must be [low, high] within 0..100, got {params['quality']!r}")
        if color_type is None:
            color_type = params.get("color_type", "color")
        if color_type not in ("color", "grayscale"):
            raise ConfigError(f"RandomJPEGCompression: color_type must be 'color' or 'grayscale', got {color_type!r}")
        self.keys = keys_arg(keys, "RandomJPEGCompression", allow_none=False)
        self.color_type, self.bgr2rgb = color_type, bool(bgr2rgb)

    def _compress(self, image: np.ndarray, quality: int) -> np.ndarray:
        out = jpeg_round_trip(image, quality, as_bgr=not self.bgr2rgb)
        if self.color_type == "color" and out.ndim == 2:
            return np.repeat(out[..., None], 3, axis=2)  # OpenCV's IMREAD_COLOR of a gray JPEG
        if self.color_type == "grayscale" and out.ndim == 3:  # IMREAD_GRAYSCALE: luma of the BGR decode
            bgr = out[..., ::-1] if self.bgr2rgb else out
            luma = 0.114 * bgr[..., 0] + 0.587 * bgr[..., 1] + 0.299 * bgr[..., 2]
            return np.clip(np.rint(luma), 0, 255).astype(np.uint8)
        return out

    def degrade(self, images: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
        low, high = self.params["quality"]
        step = self.params.get("quality_step", 0)
        quality = round(rng.uniform(low, high))
        outputs = []
        for image in images:
            outputs.append(self._compress(image, quality))
            quality = round(float(np.clip(quality + rng.uniform(-step, step), low, high)))
        return outputs


def gaussian_kernel_1d(size: int, sigma: float) -> np.ndarray:
    """OpenCV's ``getGaussianKernel``: σ ≤ 0 means ``0.3·((size − 1)/2 − 1) + 0.8``; sums to 1."""
    if sigma <= 0:
        sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8
    offsets = np.arange(size, dtype=np.float64) - (size - 1) / 2
    kernel = np.exp(-(offsets ** 2) / (2 * sigma ** 2))
    return kernel / kernel.sum()


def separable_filter(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """OpenCV's ``filter2D`` with ``outer(kernel, kernel)`` and its default border (reflect, edge not repeated)."""
    radius = len(kernel) // 2
    planes = image.astype(np.float64)
    pad = [(radius, radius), (radius, radius)] + [(0, 0)] * (planes.ndim - 2)
    padded = np.pad(planes, pad, mode="reflect")
    rows = sum(kernel[i] * padded[i:i + planes.shape[0]] for i in range(len(kernel)))
    return sum(kernel[i] * rows[:, i:i + planes.shape[1]] for i in range(len(kernel)))


class UnsharpMasking:
    """Write ``{key}_unsharp`` for each of ``keys``: ``img + weight·residue`` (clipped to [0, 255]) blended in
    where ``|residue| = |img − gauss(img)| > threshold`` (a Gaussian-softened mask), float32 (MMagic's)."""

    def __init__(self, kernel_size: int, sigma: float, weight: float, threshold: float, keys: Any) -> None:
        if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ConfigError(f"UnsharpMasking: kernel_size must be an odd positive int, got {kernel_size!r}")
        self.kernel_size, self.sigma, self.weight, self.threshold = kernel_size, sigma, weight, threshold
        self.keys = keys_arg(keys, "UnsharpMasking", allow_none=False)
        self.kernel = gaussian_kernel_1d(kernel_size, sigma)

    def _sharpen(self, image: np.ndarray) -> np.ndarray:
        image = image.astype(np.float32)
        residue = image - separable_filter(image, self.kernel)
        soft_mask = separable_filter((np.abs(residue) > self.threshold).astype(np.float32), self.kernel)
        sharpened = np.clip(image + self.weight * residue, 0, 255)
        return (soft_mask * sharpened + (1 - soft_mask) * image).astype(np.float32)

    def __call__(self, sample: dict) -> dict:
        for key in self.keys:
            images, is_list = _frames(sample, key, "UnsharpMasking")
            outputs = [self._sharpen(image) for image in images]
            sample[f"{key}_unsharp"] = outputs if is_list else outputs[0]
        return sample


class DegradationsWithShuffle:
    """Apply ``degradations`` (dicts ``type=`` + ``params=``, or lists of them kept in order as one group)
    to ``keys`` in a random order; ``shuffle_idx`` limits the shuffle to those positions (None: all).
    Allowed types, as in MMagic: RandomBlur, RandomResize, RandomNoise, RandomJPEGCompression,
    RandomVideoCompression."""

    def __init__(self, degradations: list, keys: Any, shuffle_idx: list | None = None) -> None:
        self.keys = list(keys_arg(keys, "DegradationsWithShuffle", allow_none=False))
        if not isinstance(degradations, (list, tuple)) or not degradations:
            raise ConfigError(f"DegradationsWithShuffle: degradations must be a non-empty list, got {degradations!r}")
        self.degradations = [self._build(item) for item in degradations]
        self.shuffle_idx = list(range(len(self.degradations))) if shuffle_idx is None else list(shuffle_idx)
        bad = [i for i in self.shuffle_idx if not isinstance(i, int) or not 0 <= i < len(self.degradations)]
        if bad:
            raise ConfigError(f"DegradationsWithShuffle: shuffle_idx {bad} outside 0..{len(self.degradations) - 1}")

    def _build(self, item: Any) -> Any:
        from .blur import RandomBlur
        from .degradations import RandomResize

        from .video_compression import RandomVideoCompression

        allowed = {"RandomBlur": RandomBlur, "RandomResize": RandomResize, "RandomNoise": RandomNoise,
                   "RandomJPEGCompression": RandomJPEGCompression, "RandomVideoCompression": RandomVideoCompression}
        if isinstance(item, (list, tuple)):
            return [self._build(sub) for sub in item]
        if not isinstance(item, dict) or item.get("type") not in allowed or "params" not in item:
            raise ConfigError(f"DegradationsWithShuffle: each degradation is dict(type=..., params=...) with type in "
                              f"{sorted(allowed)} (or a list of them); got {item!r}")
        return allowed[item["type"]](item["params"], self.keys)

    def __call__(self, sample: dict) -> dict:
        order = list(self.degradations)
        picked = [order[i] for i in self.shuffle_idx]
        for position, index in zip(sample_rng(sample, self).permutation(len(picked)), self.shuffle_idx):
            order[index] = picked[position]
        for step in order:
            for degradation in (step if isinstance(step, list) else [step]):
                sample = degradation(sample)
        return sample
