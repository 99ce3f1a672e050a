"""Synthetic Adobe Composition-1k data in the layout MMagic's converter (tools/dataset_converters/comp1k)
writes, for the matting configs (``AdobeComp1kDataset``), and the size overrides of a matting trial.

Under ``data_root``: ``Training_set/{Adobe-licensed images,Other}/{fg,alpha}/`` (the foregrounds
``CompositeFg`` lists), ``Training_set/{bg,merged}/``, ``Test_set/Adobe-licensed images/{fg,alpha,trimaps}/``,
``Test_set/{bg,merged}/``, and ``training_list.json`` / ``test_list.json`` (entries of paths relative to
data_root: ``alpha_path``, ``fg_path``, ``bg_path``, ``merged_path``, and ``trimap_path`` for the test set).
Alphas are soft-edged discs (opaque centre, a semi-transparent ring, transparent outside); merged =
fg·α + bg·(1 − α); trimaps mark the ring, widened by 2 pixels, unknown. A pipeline's
``RandomLoadResizeBg(bg_dir=...)`` folder is filled with backgrounds too.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .base import Sizes, save_image, smooth_image, under, writer

FOLDERS = {"training": ("Training_set", ("Adobe-licensed images", "Other")),
           "test": ("Test_set", ("Adobe-licensed images",))}


def soft_disc_alpha(rng: np.random.Generator, side: int) -> np.ndarray:
    """H×W uint8: 255 inside a random disc, a linear ramp over a ring of a few pixels, 0 outside."""
    centre = rng.uniform(side * 0.35, side * 0.65, size=2)
    radius, ring = rng.uniform(side * 0.2, side * 0.3), rng.uniform(3, 6)
    rows, cols = np.mgrid[0:side, 0:side]
    distance = np.hypot(rows - centre[0], cols - centre[1])
    return np.clip(np.rint((radius + ring - distance) / ring * 255), 0, 255).astype(np.uint8)


def trimap_of(alpha: np.ndarray, margin: int = 2) -> np.ndarray:
    """0 / 128 / 255: unknown within ``margin`` pixels (chessboard) of a semi-transparent pixel."""
    from scipy import ndimage

    unknown = ndimage.maximum_filter(((alpha > 0) & (alpha < 255)).astype(np.uint8), size=2 * margin + 1) > 0
    trimap = np.where(alpha == 255, 255, 0).astype(np.uint8)
    trimap[unknown] = 128
    return trimap


def _gray(plane: np.ndarray) -> np.ndarray:
    return np.repeat(plane[..., None], 3, axis=2)


def write_split(root: Path, mode: str, count: int, side: int, seed: int) -> list[dict]:
    """Write one split's images; returns its annotation entries (paths relative to ``root``)."""
    prefix, groups = FOLDERS[mode]
    rng = np.random.default_rng(seed)
    entries = []
    for index in range(count):
        group = groups[index % len(groups)]
        name = f"{mode}_{index:03d}.png"
        alpha = soft_disc_alpha(rng, side)
        fg, bg = smooth_image(rng, side, side), smooth_image(rng, side, side)
        weight = alpha[..., None] / 255.0
        merged = np.clip(np.rint(fg * weight + bg * (1 - weight)), 0, 255).astype(np.uint8)
        entry = {"alpha_path": f"{prefix}/{group}/alpha/{name}", "fg_path": f"{prefix}/{group}/fg/{name}",
                 "bg_path": f"{prefix}/bg/{name}", "merged_path": f"{prefix}/merged/{name}"}
        images = {"alpha_path": _gray(alpha), "fg_path": fg, "bg_path": bg, "merged_path": merged}
        if mode == "test":
            entry["trimap_path"] = f"{prefix}/{groups[0]}/trimaps/{name}"
            images["trimap_path"] = _gray(trimap_of(alpha))
        for key, image in images.items():
            path = root / entry[key]
            path.parent.mkdir(parents=True, exist_ok=True)
            save_image(image, path)
        entries.append(entry)
    return entries


def _background_dirs(dataset: dict) -> list[str]:
    return [str(step["bg_dir"]) for step in dataset.get("pipeline") or []
            if isinstance(step, dict) and step.get("type") == "RandomLoadResizeBg" and step.get("bg_dir")]


@writer("AdobeComp1kDataset")
def write_adobe_comp1k(dataset: dict, root: Path, sizes: Sizes) -> Path:
    """Both splits under ``root / data_root`` and the dataset's own ``ann_file`` (the test layout, with
    trimaps, when ``test_mode``); backgrounds for ``RandomLoadResizeBg``. Returns data_root."""
    folder = under(root, dataset.get("data_root"))
    side = matting_crop(sizes) + 8  # larger than the crop, and not a multiple of 32: the test pads
    count = max(sizes.count // 2, 2)
    splits = {"training": write_split(folder, "training", count, side, 0),
              "test": write_split(folder, "test", count, side, 1)}
    ann_file = str(dataset.get("ann_file") or ("test_list.json" if dataset.get("test_mode") else "training_list.json"))
    mode = "test" if dataset.get("test_mode") or "test" in Path(ann_file).name else "training"
    target = under(folder, ann_file)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(splits[mode], indent=1))
    for bg_dir in _background_dirs(dataset):
        bg_folder = under(root, bg_dir)
        bg_folder.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(2)
        for index in range(count):
            save_image(smooth_image(rng, side + 4, side + 6), bg_folder / f"{index:012d}.png")
    return folder


def matting_crop(sizes: Sizes) -> int:
    """The trial's training crop, a multiple of 32 (the matting networks' output stride)."""
    return max(32, sizes.crop + (-sizes.crop) % 32)


def matting_size_options(cfg: dict, sizes: Sizes) -> list[str]:
    """For a config reading ``AdobeComp1kDataset`` (none otherwise), its pipelines at the matting crop: crop
    sizes, the resize after the crop, the trimap kernels / distances (MMagic's are for 320-640 px crops: up
    to a tenth of the crop here). They come after the generic image options, so they win."""
    from .options import loaders

    if not uses_comp1k(cfg):
        return []
    crop, options = matting_crop(sizes), []
    for path, loader in loaders(cfg):
        for index, step in enumerate((loader.get("dataset") or {}).get("pipeline") or []):
            if not isinstance(step, dict):
                continue
            where, kind = f"{path}.dataset.pipeline.{index}", step.get("type")
            if kind == "CropAroundUnknown":
                options.append(f"{where}.crop_sizes=[{crop}]")
            elif kind == "CropAroundCenter":
                options.append(f"{where}.crop_size={crop}")
            elif kind == "Resize" and isinstance(step.get("scale"), (list, tuple)):
                options.append(f"{where}.scale=({crop},{crop})")
            elif kind == "GenerateTrimap":
                options.append(f"{where}.kernel_size=(1,{max(crop // 10, 2)})")
            elif kind == "GenerateTrimapWithDistTransform":
                options.append(f"{where}.dist_thr={max(crop // 10, 2)}")
    return options


def uses_comp1k(cfg: dict) -> bool:
    from .options import loaders

    return any((loader.get("dataset") or {}).get("type") == "AdobeComp1kDataset" for _, loader in loaders(cfg))


__all__ = ["matting_crop", "matting_size_options", "soft_disc_alpha", "trimap_of", "uses_comp1k", "write_adobe_comp1k",
           "write_split"]
