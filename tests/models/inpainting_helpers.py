"""Synthetic data in the layouts MMagic's inpainting configs read (CelebA-HQ: images listed by
``train_celeba_img_list.txt`` / ``val_celeba_img_list.txt`` under data_root; Places365: ``data_large`` /
``val_large`` listed by ``meta/places365_train_challenge.txt`` / ``meta/places365_val.txt``) and the
--cfg-options that shrink their pipelines to a few pixels."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

LOADERS = ("train_dataloader", "val_dataloader", "test_dataloader")


def _smooth_images(count: int, size: int, seed: int) -> list[np.ndarray]:
    """Random colour gradients (inpainting has something to continue, unlike white noise)."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0.0, 1.0, size)
    images = []
    for _ in range(count):
        low, high = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        weight = np.add.outer(ramp, ramp)[:, :, None] / 2
        images.append((low * (1 - weight) + high * weight).astype(np.uint8))
    return images


def write_celeba_layout(root: Path, size: int = 40, counts: tuple[int, int] = (3, 2)) -> Path:
    """MMagic's CelebA-HQ layout: images in data_root, listed by the train/val list files."""
    root.mkdir(parents=True, exist_ok=True)
    lists = (("train_celeba_img_list.txt", counts[0], 0), ("val_celeba_img_list.txt", counts[1], 1))
    for list_name, count, seed in lists:
        names = []
        for index, image in enumerate(_smooth_images(count, size, seed)):
            names.append(f"{list_name[:3]}{index:05d}.png")
            Image.fromarray(image).save(root / names[-1])
        (root / list_name).write_text("\n".join(names) + "\n")
    return root


def write_places_layout(root: Path, size: int = 40, counts: tuple[int, int] = (3, 2)) -> Path:
    """MMagic's Places365 layout: ``data_large/<letter>/<scene>/...`` listed by
    ``meta/places365_train_challenge.txt`` and ``val_large/...`` by ``meta/places365_val.txt`` (name, label)."""
    (root / "meta").mkdir(parents=True, exist_ok=True)
    train = []
    for index, image in enumerate(_smooth_images(counts[0], size, 2)):
        relative = Path("a") / "airfield" / f"{index:08d}.png"
        (root / "data_large" / relative).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(root / "data_large" / relative)
        train.append(f"{relative.as_posix()} 0")
    (root / "meta" / "places365_train_challenge.txt").write_text("\n".join(train) + "\n")
    val = []
    for index, image in enumerate(_smooth_images(counts[1], size, 3)):
        (root / "val_large").mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(root / "val_large" / f"Places365_val_{index:08d}.png")
        val.append(f"Places365_val_{index:08d}.png {index}")
    (root / "meta" / "places365_val.txt").write_text("\n".join(val) + "\n")
    return root


def inpainting_options(data: Path, mask_config: dict, size: int = 32, crop: int = 36, batch_size: int = 2,
                       iterations: int = 2) -> list[str]:
    """--cfg-options for MMagic's inpainting pipelines ([LoadImageFromFile, LoadMask, Crop, Resize,
    GetMaskedImage, PackInputs]) at ``size`` pixels: data_root, mask sizes, crop/resize, batch size, no
    workers, ``iterations`` of training with a checkpoint and a validation at the end."""
    options = [f"train_cfg.max_iters={iterations}", f"train_cfg.val_interval={iterations}",
               f"default_hooks.checkpoint.interval={iterations}", "default_hooks.logger.interval=1"]
    for loader in LOADERS:
        pipeline = f"{loader}.dataset.pipeline"
        options += [f"{loader}.dataset.data_root={data}", f"{loader}.batch_size={batch_size}",
                    f"{loader}.num_workers=0", f"{loader}.persistent_workers=False",
                    f"{pipeline}.1.mask_config={mask_config!r}".replace(" ", ""),
                    f"{pipeline}.2.crop_size=({crop},{crop})", f"{pipeline}.3.scale=({size},{size})"]
    return options
