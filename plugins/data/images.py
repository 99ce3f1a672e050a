"""Image-array helpers shared by datasets and transforms.

Images are numpy arrays H×W×C (uint8 0..255, or float32 after ``Normalize``);
decoding and resampling go through Pillow.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mgx.core.errors import ConfigError, MgxError

INTERPOLATIONS = ("nearest", "bilinear", "bicubic")


def is_image(value: Any) -> bool:
    """An H×W×C (or H×W) numpy array: what transforms and ``PackInputs`` treat as an image."""
    return isinstance(value, np.ndarray) and value.ndim in (2, 3) and value.dtype != object


def image_keys(sample: dict) -> list[str]:
    return [key for key, value in sample.items() if is_image(value)]


def require_image(sample: dict, key: str, who: str) -> np.ndarray:
    if key not in sample:
        raise MgxError(f"{who}: the sample has no field {key!r} (fields: {sorted(sample)}); "
                       "check the keys and the order of the pipeline")
    value = sample[key]
    if not is_image(value):
        raise MgxError(f"{who}: field {key!r} is not an H×W×C numpy image (got {type(value).__name__}); "
                       "put this transform before PackInputs")
    return value


def check_interpolation(name: str, who: str) -> str:
    if name not in INTERPOLATIONS:
        raise ConfigError(f"{who}: interpolation must be one of {INTERPOLATIONS}, got {name!r}")
    return name


def _pil_filter(name: str) -> int:
    from PIL import Image

    return {"nearest": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
            "bicubic": Image.Resampling.BICUBIC}[name]


def resize_image(image: np.ndarray, size: tuple[int, int], interpolation: str = "bilinear") -> np.ndarray:
    """Resize H×W×C (or H×W) ``image`` to ``size = (width, height)``, keeping dtype and layout."""
    from PIL import Image

    width, height = size
    if image.shape[1] == width and image.shape[0] == height:
        return image.copy()
    method = _pil_filter(interpolation)
    squeeze = image.ndim == 2
    planes = image[..., None] if squeeze else image
    if planes.dtype == np.uint8 and planes.shape[2] in (1, 3):
        # Pillow's uint8 resampling rounds and clamps for us.
        mode_input = planes[..., 0] if planes.shape[2] == 1 else planes
        out = np.asarray(Image.fromarray(np.ascontiguousarray(mode_input)).resize((width, height), method))
        out = out.reshape(height, width, planes.shape[2])
    else:
        # Other dtypes/channel counts: one float32 ('F' mode) plane at a time.
        channels = [np.asarray(Image.fromarray(np.ascontiguousarray(planes[..., c], dtype=np.float32), mode="F")
                               .resize((width, height), method)) for c in range(planes.shape[2])]
        out = np.stack(channels, axis=-1)
        if planes.dtype == np.uint8:
            out = np.clip(np.rint(out), 0, 255)
        out = out.astype(planes.dtype)
    return out[..., 0] if squeeze else out


def read_image(path: str | Path, color_type: str = "color", to_rgb: bool = True) -> np.ndarray:
    """Decode ``path`` to H×W×3 uint8 (RGB, or BGR when ``to_rgb`` is False) or H×W×1 for grayscale."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as handle:
            handle.load()  # decode now, so truncated files fail here and name the file
            image = handle.convert("L" if color_type == "grayscale" else "RGB")
    except FileNotFoundError:
        raise MgxError(f"image file not found: {path}") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise MgxError(f"cannot decode image {path}: {exc}. Remove or replace the file") from None
    array = np.asarray(image, dtype=np.uint8)
    if color_type == "grayscale":
        return array[..., None].copy()
    return array[..., ::-1].copy() if not to_rgb else array.copy()
