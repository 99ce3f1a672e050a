"""``ColorJitter`` under MMagic 1.2.0's name and arguments (``keys``, ``channel_order`` and torchvision's
``brightness``/``contrast``/``saturation``/``hue``): random brightness, contrast, saturation and hue
changes, in a random order, with the same draw for every image and frame of a sample (MMagic seeds
torchvision's jitter once per sample). Randomness: the sample's own source (``sample_rng``)."""
from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from mgx.core.errors import ConfigError, MgxError

from .transform_utils import keys_arg, sample_rng

_ARGUMENTS = ("brightness", "contrast", "saturation", "hue")


def _factor_range(value: Any, name: str) -> tuple[float, float] | None:
    """torchvision's ranges: v -> [max(0, 1 - v), 1 + v] (hue: [-v, v], v <= 0.5), or an explicit [min, max]."""
    centre, bound = (0.0, (-0.5, 0.5)) if name == "hue" else (1.0, (0.0, float("inf")))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < 0 or (name == "hue" and value > 0.5):
            raise ConfigError(f"ColorJitter: {name}={value!r} must be in [0, {0.5 if name == 'hue' else 'inf'}]")
        low, high = centre - value, centre + value
        if name != "hue":
            low = max(low, 0.0)
    elif isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        low, high = float(value[0]), float(value[1])
        if not bound[0] <= low <= high <= bound[1]:
            raise ConfigError(f"ColorJitter: {name}={list(value)!r} must be [min, max] within {list(bound)}")
    else:
        raise ConfigError(f"ColorJitter: {name} must be a non-negative number or [min, max], got {value!r}")
    return None if low == high == centre else (low, high)


class ColorJitter:
    """Jitter the colours of the ``keys`` images (H×W×3 uint8; lists of frames alike)."""

    def __init__(self, keys: Any, channel_order: str = "rgb", brightness: Any = 0, contrast: Any = 0,
                 saturation: Any = 0, hue: Any = 0) -> None:
        self.keys = keys_arg(keys, "ColorJitter", allow_none=False)
        if not isinstance(channel_order, str) or channel_order.lower() not in ("rgb", "bgr"):
            raise ConfigError(f"ColorJitter: channel_order must be 'rgb' or 'bgr', got {channel_order!r}")
        self.channel_order = channel_order.lower()
        values = dict(zip(_ARGUMENTS, (brightness, contrast, saturation, hue)))
        self.ranges = {name: _factor_range(value, name) for name, value in values.items()}

    def draw(self, rng: np.random.Generator) -> list[tuple[str, float]]:
        """The adjustments of one sample: (name, factor) in torchvision's random order."""
        order = rng.permutation(len(_ARGUMENTS))
        return [(_ARGUMENTS[i], float(rng.uniform(*self.ranges[_ARGUMENTS[i]])))
                for i in order if self.ranges[_ARGUMENTS[i]] is not None]

    def _jitter(self, image: Any, adjustments: list[tuple[str, float]], key: str) -> np.ndarray:
        from torchvision.transforms import functional as TF

        if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3):
            raise MgxError(f"ColorJitter: {key!r} must hold H×W×3 uint8 images (LoadImageFromFile color), got "
                           f"{getattr(image, 'shape', type(image).__name__)}")
        picture = Image.fromarray(image[..., ::-1] if self.channel_order == "bgr" else image)
        for name, factor in adjustments:
            picture = getattr(TF, f"adjust_{name}")(picture, factor)
        out = np.asarray(picture)
        return np.ascontiguousarray(out[..., ::-1] if self.channel_order == "bgr" else out)

    def __call__(self, sample: dict) -> dict:
        adjustments = self.draw(sample_rng(sample, self))
        for key in self.keys:
            if key not in sample:
                raise MgxError(f"ColorJitter: the sample has no {key!r} (fields: {sorted(sample)})")
            value = sample[key]
            sample[key] = [self._jitter(v, adjustments, key) for v in value] if isinstance(value, list) \
                else self._jitter(value, adjustments, key)
        return sample
