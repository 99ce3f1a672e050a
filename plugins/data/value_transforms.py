"""Field-value transforms under MMagic 1.2.0's names: SetValues, CopyValues, Clip (and mgx's Normalize)."""
from __future__ import annotations

import copy
from typing import Any, Sequence

import numpy as np

from mgx.core.errors import ConfigError, MgxError

from .images import require_image
from .transform_utils import keys_arg, selected


ATOMIC = (int, float, str, bytes, bool, type(None))


class SetValues:
    """``sample.update(deepcopy(dictionary))`` — e.g. ``dictionary=dict(scale=4)`` for SR pipelines."""

    def __init__(self, dictionary: dict) -> None:
        if not isinstance(dictionary, dict):
            raise ConfigError(f"SetValues: dictionary must be a dict, got {dictionary!r}")
        self.dictionary = dictionary

    def __call__(self, sample: dict) -> dict:
        # deepcopy returns numbers and strings themselves: only containers need its (per-sample) cost
        sample.update({key: value if isinstance(value, ATOMIC) else copy.deepcopy(value)
                       for key, value in self.dictionary.items()})
        return sample


class CopyValues:
    """``sample[dst] = deepcopy(sample[src])`` for each pair of ``src_keys``/``dst_keys`` (lists of equal length).

    mgx also copies ``{src}_channel_order`` / ``{src}_color_type`` to ``dst``."""

    def __init__(self, src_keys: list, dst_keys: list) -> None:
        if not isinstance(src_keys, list) or not isinstance(dst_keys, list):
            raise ConfigError(f"CopyValues: src_keys and dst_keys must be lists, got {src_keys!r} and {dst_keys!r}")
        if len(src_keys) != len(dst_keys):
            raise ConfigError(f"CopyValues: src_keys {src_keys} and dst_keys {dst_keys} differ in length")
        self.src_keys, self.dst_keys = src_keys, dst_keys

    def __call__(self, sample: dict) -> dict:
        for src, dst in zip(self.src_keys, self.dst_keys):
            if src not in sample:
                raise MgxError(f"CopyValues: the sample has no field {src!r} (fields: {sorted(sample)})")
            sample[dst] = copy.deepcopy(sample[src])
            # mgx: the copy keeps its source's channel-order record, which PackInputs reads
            for meta in ("channel_order", "color_type"):
                if f"{src}_{meta}" in sample:
                    sample[f"{dst}_{meta}"] = sample[f"{src}_{meta}"]
        return sample


class Clip:
    """``numpy.clip(sample[key], a_min, a_max)`` for each of ``keys`` (an image or a list of them); dtype kept."""

    def __init__(self, keys: Any, a_min: float = 0, a_max: float = 255) -> None:
        self.keys = keys_arg(keys, "Clip", allow_none=False)
        if a_min > a_max:
            raise ConfigError(f"Clip: a_min ({a_min}) is above a_max ({a_max})")
        self.a_min, self.a_max = a_min, a_max

    def __call__(self, sample: dict) -> dict:
        for key in self.keys:
            value = sample.get(key)
            if isinstance(value, list):
                sample[key] = [np.clip(v, self.a_min, self.a_max) for v in value]
            else:
                sample[key] = np.clip(require_image(sample, key, "Clip"), self.a_min, self.a_max)
        return sample


class Normalize:
    """``(image - mean) / std`` per channel, as float32 (mgx's; ``keys=None``: every image field)."""

    def __init__(self, mean: Sequence[float] | float, std: Sequence[float] | float, keys: Any = None) -> None:
        self.mean = np.asarray(mean, dtype=np.float32).reshape(-1)
        self.std = np.asarray(std, dtype=np.float32).reshape(-1)
        if self.mean.size == 0 or self.std.size == 0 or np.any(self.std == 0):
            raise ConfigError(f"Normalize: mean and std must be non-empty and std non-zero; got mean={mean!r} std={std!r}")
        self.keys = keys_arg(keys, "Normalize")

    def __call__(self, sample: dict) -> dict:
        for key in selected(sample, self.keys):
            image = require_image(sample, key, "Normalize").astype(np.float32)
            channels = image.shape[-1] if image.ndim == 3 else 1
            for name, values in (("mean", self.mean), ("std", self.std)):
                if values.size not in (1, channels):
                    raise MgxError(f"Normalize: {name} has {values.size} values but field {key!r} has {channels} channels")
            sample[key] = (image - self.mean) / self.std
        return sample
