"""Small image folders in the layout an MMagic restoration config's datasets read, and the CLI runner and
random VGG weights the restoration config tests share.

``write_dataset_folders(config, root)`` walks the resolved config's train/val/test dataloaders and, for each
``BasicImageDataset``, writes a few images under ``root/<data_root>/<data_prefix[key]>`` for every key of
``data_prefix`` (named through ``filename_tmpl``), plus the ``ann_file`` listing them. Degraded and clean
views differ by a little noise so metrics are finite; super-resolution inputs are smaller (``lq_scale``).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from PIL import Image


def _loaders(cfg: Any) -> Iterable[dict]:
    for key in ("train_dataloader", "val_dataloader", "test_dataloader"):
        value = cfg.get(key)
        for loader in (value if isinstance(value, (list, tuple)) else [value]):
            if loader:
                yield loader


def _image(rng: np.random.Generator, size: int) -> np.ndarray:
    coarse = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)  # smooth content, like photos
    return np.asarray(Image.fromarray(coarse).resize((size, size), Image.Resampling.BICUBIC))


def write_dataset_folders(cfg: Any, root: Path, size: int = 24, count: int = 1, lq_scale: int = 1) -> None:
    """``lq_scale``: inputs kept in a folder of their own (not the ground truth's) are that much smaller
    (super-resolution pairs)."""
    rng = np.random.default_rng(0)
    for loader in _loaders(cfg):
        dataset = loader["dataset"]
        base = root / dataset.get("data_root", "")
        prefixes, templates = dict(dataset.get("data_prefix", {})), dict(dataset.get("filename_tmpl", {}))
        names = [f"{index:04d}" for index in range(count)]
        for index, stem in enumerate(names):
            clean = _image(rng, size)
            for key, folder in prefixes.items():
                noise = 0 if key == "gt" else rng.integers(-8, 9, clean.shape)
                image = np.clip(clean.astype(int) + noise, 0, 255).astype(np.uint8)
                if lq_scale > 1 and key != "gt" and folder != prefixes.get("gt"):
                    image = np.asarray(Image.fromarray(image).resize((size // lq_scale,) * 2, Image.Resampling.BICUBIC))
                path = base / folder / (templates.get(key, "{}").format(stem) + ".png")
                path.parent.mkdir(parents=True, exist_ok=True)
                if not path.exists():  # img and gt may share a folder (synthetic-noise test sets)
                    Image.fromarray(image).save(path)
        if dataset.get("ann_file"):
            (base / dataset["ann_file"]).write_text("".join(f"{stem}.png\n" for stem in names))


def run_mgx(*args: str, cwd: Path, env: dict) -> "subprocess.CompletedProcess[str]":
    """``python -m mgx.cli ARGS`` in ``cwd`` (where the configs' relative data roots are)."""
    return subprocess.run([sys.executable, "-m", "mgx.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def random_vgg_weights(path: Path, vgg_type: str) -> Path:
    """A torchvision-layout VGG file with random weights (the ImageNet one comes through the hashed-weights
    path, which tests do not reach); name it in MGX_VGG19_TORCHVISION_PATH / MGX_VGG16_TORCHVISION_PATH."""
    import torch
    from torchvision.models.vgg import cfgs, make_layers

    torch.save({f"features.{k}": v for k, v in make_layers(cfgs[{"vgg16": "D", "vgg19": "E"}[vgg_type]])
                .state_dict().items()}, path)
    return path
