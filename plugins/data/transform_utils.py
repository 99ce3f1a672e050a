"""Argument checks and randomness shared by the transforms (MMagic's argument conventions)."""
from __future__ import annotations

import zlib
from typing import Any

import numpy as np

from mgx.core.errors import ConfigError

from .images import image_keys, map_frames


def keys_arg(keys: Any, who: str, allow_none: bool = True) -> tuple[str, ...] | None:
    """MMagic's ``keys``: a field name or a list of them (None: every image field, where allowed)."""
    if keys is None and allow_none:
        return None
    if isinstance(keys, str):
        return (keys,)
    if isinstance(keys, (list, tuple)) and keys and all(isinstance(k, str) for k in keys):
        return tuple(keys)
    what = "a field name, a list of them, or None (all image fields)" if allow_none else \
        "a field name or a non-empty list of them"
    raise ConfigError(f"{who}: keys must be {what}; got {keys!r}")


def selected(sample: dict, keys: tuple[str, ...] | None) -> list[str]:
    return image_keys(sample) if keys is None else list(keys)


def probability_arg(value: Any, name: str, who: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
        raise ConfigError(f"{who}: {name} must be a number within [0, 1], got {value!r}")
    return float(value)


def positive_int_arg(value: Any, name: str, who: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{who}: {name} must be a positive int, got {value!r}")
    return value


def describe(value: Any) -> str:
    """A process-independent description of a configured transform (no memory addresses)."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{k!r}:{describe(v)}" for k, v in sorted(value.items(), key=lambda kv: str(kv[0])))+ "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(describe(v) for v in value) + "]"
    if value is None or isinstance(value, (bool, int, float, str, np.ndarray, np.generic)):
        return repr(value)
    return type(value).__name__ + describe({k: v for k, v in vars(value).items() if not k.startswith("_")})


def sample_rng(sample: dict, transform: Any) -> np.random.Generator:
    """The random source of one transform for one sample.

    When the sample carries ``sample_idx`` and an ``epoch`` and/or ``seed`` field,
    a Generator seeded with ``(seed, epoch, sample_idx, transform identity)`` —
    reproducible anywhere, independent between differently configured
    transforms. Otherwise numpy's global RNG itself, as MMagic draws from it
    (PyTorch seeds it per DataLoader worker; ``numpy.random.seed`` reproduces
    the draws): a Generator over its bit generator, so no per-sample seeding
    (~40 µs a transform right after a decode, a cache-cold SeedSequence).
    """
    if "sample_idx" in sample and ("epoch" in sample or "seed" in sample):
        identity = getattr(transform, "_rng_identity", None)
        if identity is None:  # from the configuration, so equal transforms agree across processes
            identity = zlib.crc32(describe(transform).encode())
            transform._rng_identity = identity
        return np.random.default_rng([int(sample.get("seed", 0)) % 2**63, int(sample.get("epoch", 0)),
                                      int(sample["sample_idx"]), identity])
    return np.random.Generator(np.random.get_bit_generator())


def per_sample_rng(sample: dict, transform: Any) -> np.random.Generator:
    """``sample_rng``, seeded by the sample's ``sample_idx`` alone (seed 0) when it carries no ``seed``/``epoch``:
    the inpainting transforms' rule, so that a sample is masked and augmented alike in every process and
    every evaluation (and so, in training, alike in every epoch)."""
    if "sample_idx" in sample and "seed" not in sample and "epoch" not in sample:
        return sample_rng({**sample, "seed": 0}, transform)
    return sample_rng(sample, transform)


class RandomDegradation:
    """Base of MMagic's random degradations (RandomBlur, RandomResize, RandomNoise,
    RandomJPEGCompression): with probability ``params['prob']`` (default 1), each of ``keys`` -
    an image or a list of frames - is replaced by ``degrade(frames, rng)``, drawn from the
    sample's own random source."""

    params: dict
    keys: tuple[str, ...]

    def degrade(self, frames: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
        raise NotImplementedError

    def __call__(self, sample: dict) -> dict:
        rng = sample_rng(sample, self)
        if rng.uniform() > self.params.get("prob", 1):
            return sample
        for key in self.keys:
            map_frames(sample, key, type(self).__name__, lambda frames: self.degrade(frames, rng))
        return sample
