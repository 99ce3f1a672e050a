"""Image-array helpers shared by datasets and transforms.

Images are numpy arrays H×W×C (or H×W): uint8 0..255, or float32. Decoding goes
through Pillow. Resampling has two backends, as in mmcv: ``'pillow'`` (Pillow's
filters, which widen their kernel when shrinking) and ``'cv2'`` (OpenCV's
definition: the kernel is sampled at half-pixel centres, never widened, borders
replicated) — computed here with numpy, so OpenCV is not needed.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import numpy as np

from mgx.core.errors import ConfigError, MgxError

CV2_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "area", "lanczos")
PILLOW_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "box", "lanczos", "hamming")
INTERPOLATIONS = tuple(dict.fromkeys(CV2_INTERPOLATIONS + PILLOW_INTERPOLATIONS))
BACKENDS = ("cv2", "pillow")


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


def map_frames(sample: dict, key: str, who: str, transform: Callable[[list], list]) -> None:
    """Replace ``sample[key]`` - one image, or a list of frames - by ``transform`` of its frames
    (always given a list), kept in the same form."""
    value = sample.get(key)
    frames = value if isinstance(value, list) else [require_image(sample, key, who)]
    outputs = transform(frames)
    sample[key] = outputs if isinstance(value, list) else outputs[0]


# dtypes torch.from_numpy takes (native byte order only), for flipped()'s fast path
_TORCH_DTYPES = frozenset(np.dtype(name) for name in
                          ("uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64", "bool"))


def flipped(image: np.ndarray, axis: int) -> np.ndarray:
    """``np.flip(image, axis).copy()``, faster. numpy copies a horizontal flip of an H×W×C array a few
    bytes at a time (4.8 ms for a 1080p RGB image); torch's flip kernel takes 0.7 ms, writing an array of
    its own that numpy then shares. Other dtypes move each pixel's C values as one element (a void view),
    twice as fast as numpy's strided copy."""
    if axis == 0 or not image.size or not image.flags.c_contiguous:
        return np.flip(image, axis=axis).copy()
    if image.dtype in _TORCH_DTYPES and image.flags.writeable:  # torch warns on read-only arrays
        import torch

        return torch.from_numpy(image).flip(axis).numpy()
    if axis == 1 and image.ndim == 3 and image.dtype.fields is None and image.dtype != object:
        pixels = image.view(np.dtype((np.void, image.shape[2] * image.itemsize)))
        return pixels[:, ::-1].copy().view(image.dtype).reshape(image.shape)
    return np.flip(image, axis=axis).copy()


def check_backend(backend: Any, who: str) -> str:
    """mmcv's ``backend``: None means its global default, which is 'cv2'."""
    backend = "cv2" if backend is None else backend
    if backend not in BACKENDS:
        raise ConfigError(f"{who}: backend must be 'cv2', 'pillow' or None (= 'cv2'), got {backend!r}")
    return backend


def check_interpolation(name: str, who: str, backend: str = "pillow") -> str:
    allowed = CV2_INTERPOLATIONS if backend == "cv2" else PILLOW_INTERPOLATIONS
    if name not in allowed:
        raise ConfigError(f"{who}: interpolation must be one of {allowed} for backend {backend!r}, got {name!r}")
    return name


# -- cv2-style resampling -------------------------------------------------------

def _cubic(x: np.ndarray, a: float = -0.75) -> np.ndarray:  # OpenCV's bicubic uses a = -0.75
    x = np.abs(x)
    return np.where(x <= 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                    np.where(x < 2, ((a * x - 5 * a) * x + 8 * a) * x - 4 * a, 0.0))


def _lanczos4(x: np.ndarray) -> np.ndarray:
    return np.where(np.abs(x) < 4, np.sinc(x) * np.sinc(x / 4), 0.0)


_KERNELS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], int]] = {
    "bilinear": (lambda x: np.maximum(0.0, 1.0 - np.abs(x)), 1),
    "bicubic": (_cubic, 2),
    "lanczos": (_lanczos4, 4),
}


def _axis_taps(size_in: int, size_out: int, interpolation: str) -> tuple[np.ndarray, np.ndarray]:
    """Source indices (size_out × taps) and their weights for one axis, cv2's way."""
    scale = size_in / size_out
    out = np.arange(size_out, dtype=np.float64)
    if interpolation == "nearest":  # cv2: src = floor(dst * scale)
        return np.minimum(np.floor(out * scale), size_in - 1).astype(np.int64)[:, None], np.ones((size_out, 1))
    if interpolation == "area":
        # each output pixel averages the source over its footprint [o·s, (o+1)·s); when enlarging
        # this is cv2's INTER_AREA rule too (nearest, blending only across a source boundary)
        taps = int(math.ceil(scale)) + 1
        start = np.floor(out * scale).astype(np.int64)
        index = start[:, None] + np.arange(taps)[None, :]
        lo = np.maximum(index, out[:, None] * scale)
        hi = np.minimum(index + 1, (out[:, None] + 1) * scale)
        weights = np.clip(hi - lo, 0.0, None) / scale
        return np.clip(index, 0, size_in - 1), weights
    # the kernel sampled at half-pixel centres, not widened when shrinking
    kernel, support = _KERNELS[interpolation]
    centre = (out + 0.5) * scale - 0.5
    first = np.floor(centre).astype(np.int64) - support + 1
    index = first[:, None] + np.arange(2 * support)[None, :]
    weights = kernel(centre[:, None] - index)
    weights /= weights.sum(axis=1, keepdims=True)
    return np.clip(index, 0, size_in - 1), weights


def _resample_axis(image: np.ndarray, axis: int, size_out: int, interpolation: str) -> np.ndarray:
    index, weights = _axis_taps(image.shape[axis], size_out, interpolation)
    shape = [1] * image.ndim
    shape[axis] = size_out
    out = None
    for tap in range(index.shape[1]):  # one gather per tap keeps the temporaries image-sized
        term = np.take(image, index[:, tap], axis=axis) * weights[:, tap].astype(image.dtype).reshape(shape)
        out = term if out is None else out + term
    return out


def resize_cv2(image: np.ndarray, size: tuple[int, int], interpolation: str) -> np.ndarray:
    """OpenCV's ``cv2.resize`` definition (float32 arithmetic), rounded and saturated back for uint8."""
    width, height = size
    planes = image.astype(np.float64 if image.dtype == np.float64 else np.float32)
    planes = _resample_axis(planes, 0, height, interpolation)
    planes = _resample_axis(planes, 1, width, interpolation)
    if image.dtype == np.uint8:
        return np.clip(np.rint(planes), 0, 255).astype(np.uint8)
    return planes.astype(image.dtype if image.dtype.kind == "f" else np.float32)


# -- Pillow resampling ------------------------------------------------------------

def _pil_filter(name: str) -> int:
    from PIL import Image

    return {"nearest": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
            "bicubic": Image.Resampling.BICUBIC, "box": Image.Resampling.BOX,
            "lanczos": Image.Resampling.LANCZOS, "hamming": Image.Resampling.HAMMING}[name]


def resize_pillow(image: np.ndarray, size: tuple[int, int], interpolation: str) -> np.ndarray:
    from PIL import Image

    width, height = size
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


def resize_image(image: np.ndarray, size: tuple[int, int], interpolation: str = "bilinear",
                 backend: str = "pillow") -> np.ndarray:
    """Resize H×W×C (or H×W) ``image`` to ``size = (width, height)``, keeping dtype and layout."""
    width, height = size
    if image.shape[1] == width and image.shape[0] == height:
        return image.copy()
    if backend == "cv2":
        return resize_cv2(image, size, interpolation)
    return resize_pillow(image, size, interpolation)


# -- decoding ---------------------------------------------------------------------

def read_image(path: str | Path, color_type: str = "color", channel_order: str = "rgb") -> np.ndarray:
    """Decode ``path`` as mmcv's ``imfrombytes`` does, returning H×W×C.

    ``'color'``: 3 channels (gray expanded, alpha dropped) in ``channel_order``;
    ``'grayscale'``: H×W×1 (ITU-R 601 luma); ``'unchanged'``: the file's own
    channels and depth (e.g. RGBA, 16-bit), colour channels in ``channel_order``.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as handle:
            handle.load()  # decode now, so truncated files fail here and name the file
            if handle.mode.startswith("I;16") and color_type != "unchanged":
                # 16-bit gray: OpenCV's colour/grayscale reads keep the high byte (Pillow would saturate)
                image = Image.fromarray((np.asarray(handle).astype(np.uint16) >> 8).astype(np.uint8))
                image = image.convert("RGB" if color_type == "color" else "L")
            elif color_type in ("color", "grayscale"):
                target = "RGB" if color_type == "color" else "L"
                # a file already in the target mode is used as decoded (convert() would copy it)
                image = handle if handle.mode == target else handle.convert(target)
            else:
                image = handle
            if image.mode == "P":
                image = image.convert("RGBA" if "transparency" in image.info else "RGB")
            array = np.asarray(image)  # inside `with`: a closed file's image can not be read
    except FileNotFoundError:
        raise MgxError(f"image file not found: {path}") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise MgxError(f"cannot decode image {path}: {exc}. Remove or replace the file") from None
    if array.dtype == np.int32 and image.mode.startswith("I"):  # 16-bit PNGs decode as mode I
        array = array.astype(np.uint16)
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    if array.ndim == 2:
        array = array[..., None]
    if channel_order == "bgr" and array.shape[2] in (3, 4):
        array = np.concatenate([array[..., 2::-1], array[..., 3:]], axis=2)
    return np.ascontiguousarray(array).copy()
