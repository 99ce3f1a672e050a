"""``LoadImageFromFile`` with MMagic 1.2.0's arguments."""
from __future__ import annotations

from typing import Any

import numpy as np

from mgx.core.errors import ConfigError, MgxError

from .images import read_image

COLOR_TYPES = ("color", "grayscale", "unchanged")
DECODE_BACKENDS = (None, "cv2", "pillow", "turbojpeg", "tifffile")


def rgb_to_y(image: np.ndarray, channel_order: str) -> np.ndarray:
    """mmcv's ``rgb2ycbcr(y_only=True)``: ITU-R BT.601 luma, [16, 235] for uint8 input."""
    planes = image.astype(np.float64)
    red, green, blue = (planes[..., 0], planes[..., 1], planes[..., 2]) if channel_order == "rgb" else \
        (planes[..., 2], planes[..., 1], planes[..., 0])
    if image.dtype == np.uint8:
        luma = (65.481 * red + 128.553 * green + 24.966 * blue) / 255.0 + 16.0
        return np.clip(np.rint(luma), 0, 255).astype(np.uint8)
    return ((65.481 * red + 128.553 * green + 24.966 * blue) / 255.0 + 16.0 / 255.0).astype(np.float32)


class LoadImageFromFile:
    """Read ``sample[f'{key}_path']`` into ``sample[key]`` as MMagic does.

    ``color_type``: ``'color'`` (H×W×3), ``'grayscale'`` (H×W×1) or
    ``'unchanged'`` (the file's channels and bit depth). ``channel_order``:
    ``'bgr'`` (MMagic's default) or ``'rgb'``. ``to_float32`` gives float32 in
    [0, 255]; ``to_y_channel`` keeps only the luma (H×W×1). Also records
    ``ori_{key}_shape``, ``{key}_channel_order`` and ``{key}_color_type``
    (``PackInputs`` reads the channel order to hand models RGB).
    ``imdecode_backend`` is accepted for MMagic configs: Pillow decodes every
    backend's formats here, and lossless files decode identically.
    """

    def __init__(self, key: str = "img", color_type: str = "color", channel_order: str = "bgr",
                 imdecode_backend: str | None = None, use_cache: bool = False, to_float32: bool = False,
                 to_y_channel: bool = False, save_original_img: bool = False, backend_args: dict | None = None) -> None:
        if not isinstance(key, str) or not key:
            raise ConfigError(f"LoadImageFromFile: key must be a field name, got {key!r}")
        if color_type not in COLOR_TYPES:
            raise ConfigError(f"LoadImageFromFile: color_type must be one of {COLOR_TYPES}, got {color_type!r}")
        if not isinstance(channel_order, str) or channel_order.lower() not in ("rgb", "bgr"):
            raise ConfigError(f"LoadImageFromFile: channel_order must be 'rgb' or 'bgr', got {channel_order!r}")
        if imdecode_backend not in DECODE_BACKENDS:
            raise ConfigError(f"LoadImageFromFile: imdecode_backend must be one of {DECODE_BACKENDS}, "
                              f"got {imdecode_backend!r}")
        if backend_args is not None and dict(backend_args).get("backend", "local") != "local":
            raise ConfigError(f"LoadImageFromFile: only local files are supported; backend_args={backend_args!r}")
        self.key, self.color_type, self.channel_order = key, color_type, channel_order.lower()
        self.imdecode_backend, self.use_cache = imdecode_backend, bool(use_cache)
        self.to_float32, self.to_y_channel = bool(to_float32), bool(to_y_channel)
        self.save_original_img = bool(save_original_img)
        self._cache: dict[str, np.ndarray] = {}

    def _load(self, path: str) -> np.ndarray:
        if path in self._cache:
            return self._cache[path].copy()
        image = read_image(path, self.color_type, self.channel_order)
        if self.to_y_channel:
            if image.shape[2] != 3:
                raise MgxError(f"LoadImageFromFile(key={self.key!r}, to_y_channel=True) needs a colour image; "
                               f"{path} has {image.shape[2]} channel(s)")
            image = rgb_to_y(image, self.channel_order)[..., None]
        if self.to_float32:
            image = image.astype(np.float32)
        if self.use_cache:
            self._cache[path] = image.copy()
        return image

    def __call__(self, sample: dict) -> dict:
        path_key = f"{self.key}_path"
        # mgx: a single-folder dataset lists `img_path`; any key may load it
        path: Any = sample.get(path_key, sample.get("img_path"))
        if path is None:
            raise MgxError(f"LoadImageFromFile(key={self.key!r}): the sample has neither {path_key!r} nor "
                           f"'img_path' (fields: {sorted(sample)}); the dataset's data_prefix names the fields")
        frames = isinstance(path, (list, tuple))
        images = [self._load(str(p)) for p in (path if frames else [path])]
        sample[self.key] = images if frames else images[0]
        sample[path_key] = [str(p) for p in path] if frames else str(path)
        sample[f"ori_{self.key}_shape"] = [i.shape for i in images] if frames else images[0].shape
        sample[f"{self.key}_channel_order"] = self.channel_order
        sample[f"{self.key}_color_type"] = self.color_type
        if self.save_original_img:
            sample[f"ori_{self.key}"] = [i.copy() for i in images] if frames else images[0].copy()
        return sample


class LoadPairedImageFromFile(LoadImageFromFile):
    """Read ``sample[f'{key}_path']`` — domain A left, domain B right, side by side — into ``key`` (the
    whole pair) and ``img_{domain_a}`` / ``img_{domain_b}`` (its halves; the width must be even), with
    their ``_path``, ``_ori_shape``, ``_channel_order`` and ``_color_type`` records (MMagic's fields; the
    last two are mgx's, for PackInputs). Arguments as ``LoadImageFromFile``'s, plus the domain names."""

    def __init__(self, key: str, domain_a: str = "A", domain_b: str = "B", **kwargs: Any) -> None:
        super().__init__(key, **kwargs)
        for name, value in (("domain_a", domain_a), ("domain_b", domain_b)):
            if not isinstance(value, str) or not value:
                raise ConfigError(f"LoadPairedImageFromFile: {name} must be a name, got {value!r}")
        self.domain_a, self.domain_b = domain_a, domain_b

    def __call__(self, sample: dict) -> dict:
        sample = super().__call__(sample)
        pair, path = sample[self.key], sample[f"{self.key}_path"]
        if isinstance(pair, list):
            raise MgxError(f"LoadPairedImageFromFile(key={self.key!r}) reads one pair image, got a list of paths")
        if pair.shape[1] % 2:
            raise MgxError(f"LoadPairedImageFromFile: {path} is {pair.shape[1]} pixels wide; a pair image holds "
                           f"two halves of equal width (A|B), so its width must be even")
        half = pair.shape[1] // 2
        for domain, image in ((self.domain_a, pair[:, :half]), (self.domain_b, pair[:, half:])):
            key = f"img_{domain}"
            sample[key] = image.copy()
            sample[f"{key}_path"] = path
            sample[f"{key}_ori_shape"] = image.shape
            sample[f"{key}_channel_order"] = self.channel_order
            sample[f"{key}_color_type"] = self.color_type
            if self.save_original_img:
                sample[f"ori_{key}"] = image.copy()
        return sample
