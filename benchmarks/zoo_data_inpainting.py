"""Trial data and overrides of MMagic 1.2.0's AOT-GAN and InstColorization configs (used by
``zoo_data.prepare_trial``).

- AOT-GAN's pipelines load masks from a set (``LoadMask(mask_mode='set')``: ``mask_list_file`` names
  files under ``prefix``), crop with ``RandomResizedCrop`` and resize the training mask: the masks are
  written there at the trial's side, and the crops and the mask resize set to it. The side is at least
  48 px: the AOT blocks' 8-dilated reflection padding needs feature maps over 8 px at 1/4 resolution.
- InstColorization's config has a test pipeline and nothing to load: the trial writes COCO-like images
  and their instance boxes (``bbox_file``; one image without any, which MMagic colorizes whole) and adds
  a test loader running the config's ``test_pipeline`` at the trial's size, and PSNR/SSIM.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np

MASK_SET_MIN_SIDE = 48


def _steps(cfg: dict):
    """(--cfg-options path of the step, the step) of every dataloader's pipeline."""
    from mgx.benchmarks.zoo_data import loaders

    for path, loader in loaders(cfg):
        for index, step in enumerate((loader.get("dataset") or {}).get("pipeline") or []):
            if isinstance(step, dict):
                yield f"{path}.dataset.pipeline.{index}", step


def write_mask_set(config: dict, root: Path, side: int, count: int) -> Path:
    """``count`` masks (side² PNGs, 255 in a hole that moves from mask to mask) under ``prefix``, listed by
    ``mask_list_file``."""
    from mgx.benchmarks.zoo_data import _under, save_image

    prefix = _under(root, config.get("prefix") or "")
    names = []
    for index in range(count):
        mask = np.zeros((side, side), np.uint8)
        top, left = (index * 5) % (side // 2), (index * 7) % (side // 2)
        mask[top:top + side // 3, left:left + side // 2] = 255
        names.append(f"mask_{index:05d}.png")
        save_image(mask, prefix / names[-1])
    listing = _under(root, config["mask_list_file"])
    listing.parent.mkdir(parents=True, exist_ok=True)
    listing.write_text("\n".join(names) + "\n")
    return prefix


def mask_set_options(cfg: dict, root: Path, sizes) -> list[str]:
    """Masks written for every ``LoadMask(mask_mode='set')``; with them, the pipelines' RandomResizedCrop
    and the training mask's Resize at the same side."""
    steps = list(_steps(cfg))
    if not any(step.get("type") == "LoadMask" and step.get("mask_mode") == "set" for _, step in steps):
        return []
    side = max(sizes.crop, MASK_SET_MIN_SIDE)
    options = []
    for path, step in steps:
        if step.get("type") == "LoadMask" and step.get("mask_mode") == "set":
            write_mask_set(step.get("mask_config") or {}, root, side, max(sizes.count, 2))
        elif step.get("type") == "RandomResizedCrop":
            options.append(f"{path}.crop_size=({side},{side})")
        elif step.get("type") == "Resize" and "mask" in (step.get("keys") or []):
            options.append(f"{path}.scale=({side},{side})")
    return options


def _literal(value) -> str:
    """A config value as one --cfg-options token (no spaces)."""
    return repr(value).replace(": ", ":").replace(", ", ",")


def write_instance_images(folder: Path, count: int, side: int) -> Path:
    """``count`` images with a distinctly coloured box on a smooth background, and ``boxes.json`` listing
    the box of each (the last image none); returns the JSON file."""
    from mgx.benchmarks.zoo_data import save_image, smooth_image

    rng = np.random.default_rng(6)
    boxes = {}
    for index in range(count):
        image = smooth_image(rng, side + 4, side + 8).copy()
        box = [2 + index, 3, side // 2 + 4 + index, side // 2 + 3]
        image[box[1]:box[3], box[0]:box[2]] = rng.integers(0, 256, 3, dtype=np.uint8)
        save_image(image, folder / f"{index:012d}.jpg")
        boxes[f"{index:012d}.jpg"] = [box + [0.9]] if index < count - 1 else []
    (folder / "boxes.json").write_text(json.dumps(boxes))
    return folder / "boxes.json"


def colorization_options(cfg: dict, root: Path, sizes) -> list[str]:
    """For InstColorization's test-only config: data, a test loader over its ``test_pipeline`` and metrics."""
    model = cfg.get("model") or {}
    if model.get("type") != "InstColorization" or cfg.get("test_dataloader") or not cfg.get("test_pipeline"):
        return []
    side = max(8, sizes.crop - sizes.crop % 8)  # three 2× downsamplings and back
    folder = root / "data" / "coco_stuff"
    boxes = write_instance_images(folder, max(sizes.count, 2), side)
    pipeline = copy.deepcopy(cfg["test_pipeline"])
    for step in pipeline:
        if step.get("type") == "InstanceCrop":
            step.update(bbox_file=str(boxes), finesize=side)
        elif step.get("type") == "Resize":
            step["scale"] = (side, side)
    loader = dict(batch_size=1, num_workers=0, sampler=dict(type="DefaultSampler", shuffle=False),
                  dataset=dict(type="BasicImageDataset", data_root=str(folder), data_prefix=dict(img=""),
                               pipeline=pipeline))
    return [f"test_dataloader={_literal(loader)}", "test_evaluator=[dict(type='PSNR'),dict(type='SSIM')]"]


__all__ = ["colorization_options", "mask_set_options", "write_instance_images", "write_mask_set"]
