"""``PackInputs``: MMagic 1.2.0's packing, flattened into mgx's one-dict batches.

MMagic packs a sample into ``{'inputs': ..., 'data_samples': DataSample}``;
mgx keeps one flat dict per sample, so the DataSample's fields sit beside
``inputs`` under the same names (``gt`` → ``gt_img``...). docs/data.md has the
resulting batch layout.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from mgx.core.errors import ConfigError, MgxError

from .images import is_image

DEFAULT_INPUT_KEYS = ("merged", "img")
# MMagic's DataSample.DATA_KEYS entries whose name changes (the others keep theirs).
DATA_FIELD_NAMES = {"gt": "gt_img", "merged": "gt_merged", "alpha": "gt_alpha", "fg": "gt_fg", "bg": "gt_bg",
                    "ref": "ref_img"}
MGX_LQ_KEY = "lq"
# Transform records MMagic's DataSample drops that would not batch (a list of dicts per sample).
DROPPED_RECORDS = ("flip_infos",)


def _names(value: Any, argument: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"PackInputs: {argument} must be a field name or a list of them, got {value!r}")


def _is_frames(value: Any) -> bool:
    # the first element decides most (shapes, flip records) without a generator
    return isinstance(value, (list, tuple)) and len(value) > 0 and is_image(value[0]) and all(map(is_image, value))


def _is_tensor(value: Any) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "dim")


def _is_packable(value: Any) -> bool:
    """An image, a list of frames, or a tensor a transform already made (kept as it is, as MMagic does)."""
    if isinstance(value, (str, int, float)) or value is None:  # most of a sample's fields: decided at once
        return False
    return is_image(value) or _is_frames(value) or (_is_tensor(value) and value.dim() >= 2)


def image_to_tensor(image: np.ndarray, bgr: bool = False) -> Any:
    """H×W×C (or H×W) -> C×H×W tensor; uint8 and float32 kept, other dtypes float32; BGR(A) -> RGB(A)."""
    import torch

    chw = image[None] if image.ndim == 2 else image.transpose(2, 0, 1)
    if bgr and chw.shape[0] in (3, 4):
        chw = np.concatenate([chw[2::-1], chw[3:]], axis=0)
    if chw.dtype not in (np.uint8, np.float32):
        chw = chw.astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(chw))


class PackInputs:
    """Turn a sample's images into CHW tensors named as MMagic names them.

    ``keys`` (MMagic's default ``['merged', 'img']``): the fields that form
    ``inputs`` (one → a tensor, several → a dict). ``data_keys`` / ``meta_keys``:
    fields kept under their own name (as tensors / untouched). The naming rules,
    including mgx's unconditional and ``lq`` conveniences, are in docs/data.md.
    Images come out RGB whatever ``channel_order`` they were loaded with.
    """

    def __init__(self, keys: Any = DEFAULT_INPUT_KEYS, meta_keys: Any = (), data_keys: Any = ()) -> None:
        if keys is None:
            raise ConfigError("PackInputs: keys can not be None (MMagic's rule); leave it out for ['merged', 'img']")
        self.keys = _names(keys, "keys")
        self.meta_keys = _names(meta_keys, "meta_keys")
        self.data_keys = _names(data_keys, "data_keys")
        self.default_keys = self.keys == DEFAULT_INPUT_KEYS

    def _tensor(self, sample: dict, key: str) -> Any:
        value = sample[key]
        bgr = sample.get(f"{key}_channel_order") == "bgr"
        if is_image(value):
            return image_to_tensor(value, bgr)
        if _is_tensor(value):
            return value
        if _is_frames(value) and len(value) == 1:  # one frame (a Vimeo-90K centre GT) packs as an image, as in MMagic
            return image_to_tensor(value[0], bgr)
        if _is_frames(value):
            import torch

            return torch.stack([image_to_tensor(frame, bgr) for frame in value])
        raise MgxError(f"PackInputs: field {key!r} is not a numpy image (got {type(value).__name__})")

    def roles(self, sample: dict) -> tuple[list[str], str | None]:
        """(input fields, ground-truth field) of ``sample`` under the rules of docs/data.md."""
        present = [key for key in self.keys if sample.get(key) is not None]
        if self.default_keys and _is_packable(sample.get(MGX_LQ_KEY)):
            present = [MGX_LQ_KEY]  # mgx's older name for the low-quality input
        if _is_packable(sample.get("gt")):
            truth = "gt"
        elif _is_packable(sample.get("img")) and len(present) <= 1:
            truth = "img"  # unconditional data, or the clean half of an img/lq pair
        else:
            truth = None
        if not present and truth is not None:
            present = [truth]  # unconditional data loaded as 'gt': the real images are the input too
        return present, truth

    def __call__(self, sample: dict) -> dict:
        inputs, truth = self.roles(sample)
        packed: dict[str, Any] = {}
        if inputs:
            tensors = {key: self._tensor(sample, key) if _is_packable(sample[key]) else sample[key]
                       for key in inputs}
            packed["inputs"] = tensors[inputs[0]] if len(inputs) == 1 else tensors
        if truth is not None:
            packed["gt_img"] = packed["inputs"] if inputs == [truth] else self._tensor(sample, truth)
            if len(inputs) == 1 and inputs[0] != truth:
                packed["lq_img"] = packed["inputs"]  # marks a restoration pair
        rest: dict[str, Any] = {}
        converted: set[str] = set()
        for key, value in sample.items():
            if key in self.meta_keys:
                rest[key] = value
            elif key in self.data_keys:
                rest[key] = self._tensor(sample, key) if _is_packable(value) else value
            elif _is_packable(value):
                converted.add(key)
                if key == truth or (key in inputs and key not in DATA_FIELD_NAMES):
                    continue
                name = DATA_FIELD_NAMES.get(key, "lq_img" if key == MGX_LQ_KEY else key)
                if name in packed:
                    raise MgxError(f"PackInputs: field {key!r} would be packed as {name!r}, which another field "
                                   "already fills; rename one of them (e.g. LoadImageFromFile(key=...))")
                packed[name] = self._tensor(sample, key)
            elif value is not None and key not in DROPPED_RECORDS:  # None does not collate (Resize's backend)
                rest[key] = value
        for key in converted:
            if rest.get(f"{key}_channel_order") == "bgr":
                rest[f"{key}_channel_order"] = "rgb"
        clash = sorted(set(rest) & set(packed))
        if clash:
            raise MgxError(f"PackInputs: the sample already has field(s) {clash} that packing would overwrite")
        rest.update(packed)
        return rest
