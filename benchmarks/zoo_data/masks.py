"""The mask files of MMagic's ``LoadMask(mask_mode='set')`` (a list file naming binary masks under a
prefix, as the partial-convolution configs read NVIDIA's irregular masks)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from .base import under


def _mask_steps(cfg: dict):
    for key in ("train_dataloader", "val_dataloader", "test_dataloader"):
        loader = cfg.get(key)
        for one in (loader if isinstance(loader, (list, tuple)) else [loader]):
            for step in ((one or {}).get("dataset") or {}).get("pipeline") or []:
                if isinstance(step, dict) and step.get("type") == "LoadMask" and step.get("mask_mode") == "set":
                    yield step.get("mask_config") or {}


def write_mask_sets(cfg: dict, root: Path, side: int, count: int = 4) -> list[Path]:
    """For every mask set the config's pipelines load: ``count`` random rectangles of ``side`` pixels
    (white = hole) under its ``prefix`` and the list file naming them; returns the list files."""
    rng = np.random.default_rng(5)
    written = []
    for config in _mask_steps(cfg):
        listing = under(root, config.get("mask_list_file"))
        prefix = under(root, config.get("prefix"))
        names = [f"mask_{index:03d}.png" for index in range(count)]
        for name in names:
            mask = np.zeros((side, side), np.uint8)
            top, left = rng.integers(0, side // 2, 2)
            mask[top:top + side // 3, left:left + side // 3] = 255
            (prefix / name).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(mask).save(prefix / name)
        listing.parent.mkdir(parents=True, exist_ok=True)
        listing.write_text("".join(f"{name}\n" for name in names))
        written.append(listing)
    return written
