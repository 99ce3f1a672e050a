"""MMCV's transform wrappers that MMagic's translation configs use: ``KeyMapper`` (rename fields,
optionally around inner transforms) and ``TransformBroadcaster`` (apply transforms to several fields
one by one, optionally with the same random parameters).

``mapping`` is ``{inner name: outer field}`` (the name the inner transforms see -> the sample's field);
``remapping`` is ``{inner name: outer field}`` for the way back; ``auto_remap`` (default: True when
``remapping`` is None) uses ``mapping`` for it. mgx carries an image's ``{field}_channel_order`` and
``{field}_color_type`` records along with it, so ``PackInputs`` still hands models RGB.
"""
from __future__ import annotations

from typing import Any

from mgx.core.errors import ConfigError, MgxError
from mgx.core.registry import build_list

_RECORDS = ("channel_order", "color_type")
_SEED_STRIDE = 1_000_003  # separates the per-field seeds of an unshared broadcast


def _mapping(value: Any, name: str, who: str, allow_lists: bool) -> dict[str, Any] | None:
    if value is None:
        return None
    ok = isinstance(value, dict) and all(
        isinstance(inner, str) and (isinstance(outer, str) or (allow_lists and isinstance(outer, (list, tuple))
                                                                and all(isinstance(o, str) for o in outer)))
        for inner, outer in value.items())
    if not ok:
        kind = "a field name or a list of them" if allow_lists else "a field name"
        raise ConfigError(f"{who}: {name} must be a dict inner name -> {kind}, got {value!r}")
    return {inner: list(outer) if isinstance(outer, (list, tuple)) else outer for inner, outer in value.items()}


def _transforms(value: Any, who: str) -> list:
    if value is None:
        return []
    cfgs = [value] if isinstance(value, dict) else value
    if not isinstance(cfgs, (list, tuple)) or not all(isinstance(cfg, dict) for cfg in cfgs):
        raise ConfigError(f"{who}: transforms must be a transform dict or a list of them, got {value!r}")
    return build_list(list(cfgs), "transform")


def _copy_field(source: dict, source_key: str, target: dict, target_key: str) -> None:
    target[target_key] = source[source_key]
    for record in _RECORDS:
        if f"{source_key}_{record}" in source:
            target[f"{target_key}_{record}"] = source[f"{source_key}_{record}"]


def _run(transforms: list, sample: dict) -> dict:
    for transform in transforms:
        sample = transform(sample)
        if not isinstance(sample, dict):
            raise MgxError(f"transform {type(transform).__name__} returned {type(sample).__name__}, not a dict")
    return sample


class KeyMapper:
    """Run ``transforms`` on the sample with fields renamed by ``mapping``, then write the results back
    under ``remapping``'s names (the sample keeps its other fields). With no transforms it copies
    fields: ``mapping={'img_photo': 'img_A'}`` with ``remapping={'img_photo': 'img_photo'}`` adds
    ``img_photo`` (the ``img_A`` image). ``allow_nonexist_keys`` skips mapped fields the sample lacks."""

    def __init__(self, transforms: Any = None, mapping: dict | None = None, remapping: dict | None = None,
                 auto_remap: bool | None = None, allow_nonexist_keys: bool = False) -> None:
        who = "KeyMapper"
        self.transforms = _transforms(transforms, who)
        self.mapping = _mapping(mapping, "mapping", who, allow_lists=False)
        self.remapping = _mapping(remapping, "remapping", who, allow_lists=False)
        if auto_remap is None:
            auto_remap = remapping is None
        if auto_remap and self.remapping is None:
            self.remapping = self.mapping
        self.allow_nonexist_keys = bool(allow_nonexist_keys)

    def __call__(self, sample: dict) -> dict:
        inner = dict(sample)
        for name, field in (self.mapping or {}).items():
            if field not in sample:
                if self.allow_nonexist_keys:
                    continue
                raise MgxError(f"KeyMapper: mapping reads field {field!r}, which the sample lacks "
                               f"(fields: {sorted(sample)})")
            _copy_field(sample, field, inner, name)
        inner = _run(self.transforms, inner)
        if self.remapping is None:
            sample.update(inner)
            return sample
        for name, field in self.remapping.items():
            if name in inner:
                _copy_field(inner, name, sample, field)
        return sample


class TransformBroadcaster:
    """Apply ``transforms`` to each field of ``mapping``'s lists in turn (``{'img': ['img_A', 'img_B']}``:
    the inner transforms see each image as ``img``) and write each result back (``auto_remap``).

    ``share_random_params=True``: every field gets the same random draws (one crop window, one flip
    decision for all); otherwise each field draws its own.
    """

    def __init__(self, transforms: Any, mapping: dict | None = None, remapping: dict | None = None,
                 auto_remap: bool | None = None, allow_nonexist_keys: bool = False,
                 share_random_params: bool = False) -> None:
        who = "TransformBroadcaster"
        self.transforms = _transforms(transforms, who)
        self.mapping = _mapping(mapping, "mapping", who, allow_lists=True)
        if not self.mapping or not any(isinstance(outer, list) for outer in self.mapping.values()):
            raise ConfigError(f"{who}: mapping must map an inner name to a list of fields, e.g. "
                              f"{{'img': ['img_A', 'img_B']}}; got {mapping!r}")
        lengths = {len(outer) for outer in self.mapping.values() if isinstance(outer, list)}
        if len(lengths) != 1:
            raise ConfigError(f"{who}: the lists of mapping must have one length, got {mapping!r}")
        self.remapping = _mapping(remapping, "remapping", who, allow_lists=True)
        if auto_remap is None:
            auto_remap = remapping is None
        if auto_remap and self.remapping is None:
            self.remapping = self.mapping
        self.allow_nonexist_keys, self.share_random_params = bool(allow_nonexist_keys), bool(share_random_params)
        self.count = lengths.pop()

    def _seed(self, sample: dict) -> int:
        """The random seed of this sample's broadcast: the sample's own when it has one, else a draw."""
        import numpy as np

        if "seed" in sample or "epoch" in sample:
            return int(sample.get("seed", 0))
        return int(np.random.randint(0, 2**62, dtype=np.int64))

    def __call__(self, sample: dict) -> dict:
        seed = self._seed(sample)
        results = []
        for index in range(self.count):
            inner = dict(sample)
            inner.setdefault("sample_idx", 0)
            inner["seed"] = seed if self.share_random_params else (seed * _SEED_STRIDE + index + 1) % 2**62
            present = True
            for name, outer in self.mapping.items():
                field = outer[index] if isinstance(outer, list) else outer
                if field not in sample:
                    if not self.allow_nonexist_keys:
                        raise MgxError(f"TransformBroadcaster: mapping reads field {field!r}, which the sample "
                                       f"lacks (fields: {sorted(sample)})")
                    present = False
                    continue
                _copy_field(sample, field, inner, name)
            results.append(_run(self.transforms, inner) if present else None)
        for index, inner in enumerate(results):
            if inner is None:
                continue
            for name, outer in (self.remapping or {}).items():
                field = outer[index] if isinstance(outer, list) else outer
                if name in inner:
                    _copy_field(inner, name, sample, field)
        return sample


__all__ = ["KeyMapper", "TransformBroadcaster"]
