"""InstColorization's trial: MMagic's config has a test pipeline and nothing to load, so the trial writes
COCO-like images with their instance boxes (a ``bbox_file``; the last image has none, which MMagic
colorizes whole) and adds a test loader running the config's ``test_pipeline`` at the trial's size, and
PSNR/SSIM."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np

from .base import save_image, smooth_image


def write_instance_images(folder: Path, count: int, side: int) -> Path:
    """``count`` images with a distinctly coloured box on a smooth background, and ``boxes.json`` listing
    the box of each (the last image none); returns the JSON file."""
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


def _literal(value) -> str:
    """A config value as one --cfg-options token (no spaces)."""
    return repr(value).replace(": ", ":").replace(", ", ",")


def colorization_options(cfg: dict, root: Path, sizes) -> list[str]:
    """For InstColorization's test-only config: data, a test loader over its ``test_pipeline`` and metrics."""
    model = cfg.get("model") or {}
    if model.get("type") != "InstColorization" or cfg.get("test_dataloader") or not cfg.get("test_pipeline"):
        return []
    side = max(8, sizes.image - sizes.image % 8)  # three 2× downsamplings and back
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


__all__ = ["colorization_options", "write_instance_images"]
