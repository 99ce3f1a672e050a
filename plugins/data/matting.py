"""Matting data with MMagic 1.2.0's names and arguments: the ``AdobeComp1kDataset`` (its JSON annotation
layout) and the trimap transforms ``GenerateTrimap``, ``GenerateTrimapWithDistTransform``,
``FormatTrimap`` and ``TransformTrimap``.

Alphas and trimaps are H×W×1 uint8 (``LoadImageFromFile(color_type='grayscale')``); a trimap holds 0
(background), 128 (unknown) and 255 (foreground). The random choices draw from the sample's own generator
(``sample_rng``), so a sample's trimap is the same in every process; the distributions are MMagic's.
Morphology follows OpenCV's (elliptic structuring elements, window anchored at its centre, borders that
never win), computed with SciPy.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from mgx.core.errors import ConfigError, MgxError

from .datasets_base import PipelineDataset
from .images import require_image
from .transform_utils import sample_rng

UNKNOWN, FOREGROUND = 128, 255


class AdobeComp1kDataset(PipelineDataset):
    """Adobe Composition-1k: ``ann_file`` (under ``data_root``) is a JSON list of samples, each a dict of
    paths relative to ``data_root`` (``alpha_path``, ``fg_path``, ``bg_path``, ``merged_path``,
    ``trimap_path``), or ``dict(metainfo=..., data_list=[...])``; every path is joined to ``data_root``."""

    METAINFO = dict(dataset_type="matting_dataset", task_name="matting")

    def __init__(self, ann_file: str = "", data_root: str | None = None, pipeline: Any = (), test_mode: bool = False,
                 metainfo: dict | None = None, data_prefix: Any = None, indices: Any = None,
                 serialize_data: bool = True, lazy_init: bool = False, max_refetch: int = 1000,
                 filter_cfg: dict | None = None, backend_args: dict | None = None) -> None:
        # data_prefix, serialize_data, lazy_init, max_refetch, backend_args: MMEngine's BaseDataset arguments,
        # accepted for MMagic configs (paths come from the annotation file; files are local)
        if not ann_file:
            raise ConfigError("AdobeComp1kDataset: ann_file is required (e.g. 'training_list.json')")
        if filter_cfg is not None:
            raise ConfigError(f"AdobeComp1kDataset: filter_cfg is not supported (got {filter_cfg!r}); remove it")
        self.data_root = Path(data_root).expanduser() if data_root else Path()
        self.ann_file = Path(ann_file) if Path(ann_file).is_absolute() else self.data_root / ann_file
        self.test_mode = bool(test_mode)
        self.metainfo = {**self.METAINFO, **(metainfo or {})}
        self.samples = self._load()
        if indices is not None:  # MMEngine's: the first N samples, or those listed
            chosen = range(indices) if isinstance(indices, int) else indices
            try:
                self.samples = [self.samples[int(index)] for index in chosen]
            except (IndexError, TypeError, ValueError):
                raise ConfigError(f"AdobeComp1kDataset: indices must be a count or a list of sample indices below "
                                  f"{len(self.samples)}, got {indices!r}") from None
        super().__init__(pipeline)

    def _load(self) -> list[dict]:
        if not self.ann_file.is_file():
            raise ConfigError(f"AdobeComp1kDataset: annotation file {str(self.ann_file)!r} (data_root + ann_file) "
                              "does not exist; point data_root at the Composition-1k folder (tools/dataset_converters/"
                              "comp1k of MMagic writes training_list.json / test_list.json)")
        try:
            annotations = json.loads(self.ann_file.read_text())
        except json.JSONDecodeError as error:
            raise ConfigError(f"AdobeComp1kDataset: {self.ann_file} is not JSON: {error}") from None
        if isinstance(annotations, dict):
            if "data_list" not in annotations or "metainfo" not in annotations:
                raise ConfigError(f"AdobeComp1kDataset: {self.ann_file} is a dict without data_list and metainfo")
            for key, value in annotations["metainfo"].items():
                self.metainfo.setdefault(key, value)
            annotations = annotations["data_list"]
        if not isinstance(annotations, list) or not annotations:
            raise ConfigError(f"AdobeComp1kDataset: {self.ann_file} must hold a non-empty list of samples")
        samples = []
        for index, entry in enumerate(annotations):
            if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
                raise ConfigError(f"AdobeComp1kDataset: {self.ann_file} entry {index} must map fields to paths, "
                                  f"got {entry!r}")
            samples.append({key: str(self.data_root / value) for key, value in entry.items()})
        return samples

    def __len__(self) -> int:
        return len(self.samples)

    def raw_sample(self, idx: int) -> dict:
        return dict(self.samples[idx])


def _int_range(value: Any, name: str, who: str) -> tuple[int, int]:
    """MMagic's ``int | (low, high)``: an int n means (n, n + 1)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value + 1
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return int(value[0]), int(value[1])
    raise ConfigError(f"{who}: {name} must be an int or a tuple of 2 ints, got {value!r}")


def ellipse_element(size: int) -> np.ndarray:
    """OpenCV's ``getStructuringElement(MORPH_ELLIPSE, (size, size))``."""
    element = np.zeros((size, size), dtype=bool)
    radius = size // 2
    for row in range(size):
        offset = row - radius
        if abs(offset) <= radius:
            half = int(np.rint(radius * np.sqrt((radius * radius - offset * offset) / (radius * radius)))) \
                if radius else 0
            element[row, max(radius - half, 0):min(radius + half + 1, size)] = True
    return element


def morphology(plane: np.ndarray, element: np.ndarray, iterations: int, erode: bool) -> np.ndarray:
    """OpenCV's erode/dilate of a plane: min/max over the element around each pixel, repeated; pixels
    outside the image never win (the type's extreme as border value)."""
    function = ndimage.minimum_filter if erode else ndimage.maximum_filter
    limits = np.iinfo(plane.dtype) if plane.dtype.kind in "ui" else None
    border = (limits.max if erode else limits.min) if limits is not None else (np.inf if erode else -np.inf)
    for _ in range(iterations):
        plane = function(plane, footprint=element, mode="constant", cval=border)
    return plane


def _alpha_plane(sample: dict, who: str) -> np.ndarray:
    alpha = require_image(sample, "alpha", who)
    if alpha.ndim == 3 and alpha.shape[2] != 1:
        raise MgxError(f"{who}: alpha must be one channel (LoadImageFromFile(key='alpha', color_type='grayscale')), "
                       f"got shape {alpha.shape}")
    return alpha.reshape(alpha.shape[:2])


def _like_alpha(plane: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return plane.reshape(alpha.shape)


class GenerateTrimap:
    """A trimap from the alpha: 255 where the eroded alpha is 255, 0 where the dilated alpha is 0, 128
    elsewhere. ``random=True``: kernel sizes drawn from ``range(*kernel_size)`` and iterations from
    ``range(*iterations)`` for the erosion and the dilation each; ``random=False``: ``kernel_size`` =
    (erode size, dilate size), ``iterations`` = (erode, dilate)."""

    def __init__(self, kernel_size: Any, iterations: Any = 1, random: bool = True) -> None:
        self.kernel_size = _int_range(kernel_size, "kernel_size", "GenerateTrimap")
        self.iterations = _int_range(iterations, "iterations", "GenerateTrimap")
        self.random = bool(random)
        sizes = range(*self.kernel_size) if self.random else self.kernel_size
        if not sizes or min(sizes) < 1:
            raise ConfigError(f"GenerateTrimap: kernel_size {kernel_size!r} gives no positive kernel size")
        self._elements = [ellipse_element(size) for size in sizes]

    def __call__(self, sample: dict) -> dict:
        alpha = require_image(sample, "alpha", "GenerateTrimap")
        plane = _alpha_plane(sample, "GenerateTrimap")
        if self.random:
            rng = sample_rng(sample, self)
            erode_index, dilate_index = rng.integers(len(self._elements)), rng.integers(len(self._elements))
            erode_iter, dilate_iter = rng.integers(*self.iterations), rng.integers(*self.iterations)
        else:
            erode_index, dilate_index = 0, 1
            erode_iter, dilate_iter = self.iterations
        eroded = morphology(plane, self._elements[erode_index], int(erode_iter), erode=True)
        dilated = morphology(plane, self._elements[dilate_index], int(dilate_iter), erode=False)
        trimap = np.full(plane.shape, UNKNOWN, dtype=np.uint8)
        trimap[eroded >= 255] = FOREGROUND
        trimap[dilated <= 0] = 0
        sample["trimap"] = _like_alpha(trimap, alpha)
        return sample


class GenerateTrimapWithDistTransform:
    """A trimap from the alpha: unknown (128) within a Euclidean distance of ``dist_thr`` (drawn from
    [1, dist_thr) when ``random``) of a semi-transparent pixel, else 255 where alpha is 255 and 0 elsewhere."""

    def __init__(self, dist_thr: int = 20, random: bool = True) -> None:
        if isinstance(dist_thr, bool) or not isinstance(dist_thr, int) or dist_thr < 1:
            raise ConfigError(f"GenerateTrimapWithDistTransform: dist_thr must be an int ≥ 1, got {dist_thr!r}")
        if random and dist_thr < 2:
            raise ConfigError("GenerateTrimapWithDistTransform: random=True draws from [1, dist_thr); dist_thr "
                              "must be ≥ 2")
        self.dist_thr, self.random = dist_thr, bool(random)

    def __call__(self, sample: dict) -> dict:
        alpha = require_image(sample, "alpha", "GenerateTrimapWithDistTransform")
        plane = _alpha_plane(sample, "GenerateTrimapWithDistTransform")
        known = (plane == 0) | (plane == 255)
        # distance of every pixel to the nearest semi-transparent one (OpenCV's exact L2 transform)
        distance = ndimage.distance_transform_edt(known) if not known.all() else np.full(plane.shape, np.inf)
        threshold = sample_rng(sample, self).integers(1, self.dist_thr) if self.random else self.dist_thr
        trimap = (plane == 255).astype(np.uint8) * 255
        trimap[distance <= threshold] = UNKNOWN
        sample["trimap"] = _like_alpha(trimap, alpha)
        return sample


def _trimap_plane(sample: dict, who: str) -> np.ndarray:
    trimap = require_image(sample, "trimap", who).squeeze()
    if trimap.ndim != 2:
        raise MgxError(f"{who}: trimap must be one channel, got shape {sample['trimap'].shape}")
    return trimap


class FormatTrimap:
    """``to_onehot=True``: H×W×3 uint8 (background, unknown, foreground) indicators; else H×W with 0 / 1 / 2.
    Records ``format_trimap_to_onehot``."""

    def __init__(self, to_onehot: bool = False) -> None:
        self.to_onehot = bool(to_onehot)

    def __call__(self, sample: dict) -> dict:
        trimap = _trimap_plane(sample, "FormatTrimap").copy()
        if self.to_onehot:
            planes = [trimap == 0, trimap == UNKNOWN, trimap == FOREGROUND]
            sample["trimap"] = np.stack(planes, axis=-1).astype(np.uint8)
        else:
            trimap[trimap == UNKNOWN] = 1
            trimap[trimap == FOREGROUND] = 2
            sample["trimap"] = trimap
        sample["format_trimap_to_onehot"] = self.to_onehot
        return sample


class TransformTrimap:
    """FBA matting's trimap encoding: ``two_channel_trimap`` (H×W×2 uint8, 255 on background / foreground) and
    ``transformed_trimap`` (H×W×6 float32: exp(−d² / (2 (f·320)²)) for f in 0.02, 0.08, 0.16, d the Euclidean
    distance to that region, per region; zeros for a region the trimap lacks)."""

    def __call__(self, sample: dict) -> dict:
        trimap = require_image(sample, "trimap", "TransformTrimap")
        if trimap.ndim != 2:
            raise MgxError(f"TransformTrimap: trimap must be H×W, got shape {trimap.shape}")
        two_channel = np.zeros((*trimap.shape, 2), dtype=np.uint8)
        two_channel[trimap == 0, 0] = 255
        two_channel[trimap == FOREGROUND, 1] = 255
        transformed = np.zeros((*trimap.shape, 6), dtype=np.float32)
        factors = np.array([0.02, 0.08, 0.16], dtype=np.float32)
        for region in range(2):
            if two_channel[:, :, region].any():
                distance = ndimage.distance_transform_edt(two_channel[:, :, region] == 0).astype(np.float32)
                transformed[..., 3 * region:3 * region + 3] = np.exp(
                    -(distance ** 2)[..., None] / (2 * (factors * 320) ** 2))
        sample["transformed_trimap"] = transformed
        sample["two_channel_trimap"] = two_channel
        return sample


class RescaleToZeroOne:
    """``keys`` (an image or a list of frames each) as float32 divided by 255."""

    def __init__(self, keys: Any) -> None:
        if isinstance(keys, str):
            keys = [keys]
        if not isinstance(keys, (list, tuple)) or not keys or not all(isinstance(k, str) for k in keys):
            raise ConfigError(f"RescaleToZeroOne: keys must be a field name or a list of them, got {keys!r}")
        self.keys = tuple(keys)

    def __call__(self, sample: dict) -> dict:
        for key in self.keys:
            value = sample.get(key)
            if isinstance(value, list):
                sample[key] = [np.asarray(v).astype(np.float32) / 255.0 for v in value]
            else:
                sample[key] = require_image(sample, key, "RescaleToZeroOne").astype(np.float32) / 255.0
        return sample


__all__ = ["AdobeComp1kDataset", "RescaleToZeroOne", "FormatTrimap", "GenerateTrimap",
           "GenerateTrimapWithDistTransform",
           "TransformTrimap", "ellipse_element", "morphology"]
