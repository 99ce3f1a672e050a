"""Writers for MMagic's image datasets: restoration folders with meta-info files, paired and unpaired
translation folders, CIFAR-10's pickles and ImageNet-style class folders."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .base import Sizes, downscale, prefixes, save_image, smooth_image, under, writer


@writer("BasicImageDataset")
def write_basic_image_dataset(dataset: dict, root: Path, sizes: Sizes) -> Path:
    """MMagic's BasicImageDataset: one folder per ``data_prefix`` field under ``data_root``; ``gt``
    at full size, ``img`` at 1/scale (its LR partner), any other field at full size; ``ann_file``
    lists the ``gt`` names with their shape, as MMagic's meta-info files do."""
    data_root = under(root, dataset.get("data_root"))
    fields = prefixes(dataset)
    templates = {key: "{}" for key in fields} | dict(dataset.get("filename_tmpl") or {})
    rng = np.random.default_rng(0)
    crops = any(isinstance(step, dict) and ("gt_patch_size" in step or "patch_size" in step)
                for step in dataset.get("pipeline") or [])
    if sizes.scale > 1:  # big enough for the crop; else divisible by 2, 3, 4 and the scale
        side = max(sizes.crop, sizes.image)
        if side % (4 * sizes.scale):
            side += (-side) % (12 * sizes.scale // int(np.gcd(12, sizes.scale)))
    else:  # (a network that fixes its input side gets exactly it)
        side = max(sizes.crop, sizes.image) if crops else sizes.image
    names = [f"{index + 1:04d}" for index in range(sizes.count)]
    for name in names:
        full = smooth_image(rng, side, side)
        for key, prefix in fields.items():
            target = data_root / prefix / (templates[key].format(name) + ".png")
            if target.exists():  # fields sharing one folder (synthetic-noise test sets) share its images
                continue
            image = full
            if key != "gt" and "gt" in fields and prefix != fields["gt"]:  # a degraded partner, never the GT
                image = np.clip(full.astype(int) + rng.integers(-8, 9, full.shape), 0, 255).astype(np.uint8)
                image = downscale(image, sizes.scale) if key == "img" and sizes.scale > 1 else image
            save_image(image, target)
    if dataset.get("ann_file"):
        ann = under(data_root, dataset["ann_file"])
        ann.parent.mkdir(parents=True, exist_ok=True)
        search = dataset.get("search_key") or next(iter(fields))
        ann.write_text("".join(f"{templates[search].format(n)}.png ({side},{side},3)\n" for n in names))
    return data_root


def write_images(folder: Path, count: int, size: int, seed: int = 2) -> Path:
    """``folder/<n>.png``: ``count`` smooth RGB images, ``size`` px square."""
    rng = np.random.default_rng(seed)
    for index in range(count):
        save_image(smooth_image(rng, size, size), folder / f"{index}.png")
    return folder


def write_pair_images(folder: Path, count: int, size: int, seed: int = 1) -> Path:
    """``folder/<n>.png``: A left of B, ``size`` × 2·``size`` (B is A's colour inverse, so a pair reads as a
    pair in a sample grid)."""
    rng = np.random.default_rng(seed)
    for index in range(count):
        a = smooth_image(rng, size, size)
        save_image(np.concatenate([a, 255 - a], axis=1), folder / f"{index}.png")
    return folder


@writer("PairedImageDataset")
def write_paired_image_dataset(dataset: dict, root: Path, sizes: Sizes) -> Path:
    """MMagic's PairedImageDataset: ``data_root/{train,test_dir}/<n>.png`` pairs."""
    data_root = under(root, dataset.get("data_root"))
    for phase in ("train", dataset.get("test_dir", "test")):
        write_pair_images(data_root / phase, sizes.count, sizes.image)
    return data_root


@writer("UnpairedImageDataset")
def write_unpaired_image_dataset(dataset: dict, root: Path, sizes: Sizes) -> Path:
    """MMagic's UnpairedImageDataset: unrelated images in ``data_root/{train,test}{A,B}``."""
    data_root = under(root, dataset.get("data_root"))
    for seed, folder in enumerate(("trainA", "trainB", "testA", "testB")):
        write_images(data_root / folder, sizes.count, sizes.image, seed)
    return data_root


@writer("CIFAR10")
def write_cifar10(dataset: dict, root: Path, sizes: Sizes, num_classes: int = 10) -> Path:
    """MMagic's CIFAR10: the python pickles (``data`` N×3072 uint8 rows, ``labels``) of
    ``data_root/data_prefix/cifar-10-batches-py``, ``sizes.count`` 32×32 images each."""
    import pickle

    folder = under(under(root, dataset.get("data_root")), dataset.get("data_prefix")) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        images = np.stack([smooth_image(rng, 32, 32).transpose(2, 0, 1).reshape(-1) for _ in range(sizes.count)])
        labels = [int(v) for v in rng.integers(0, num_classes, sizes.count)]
        (folder / name).write_bytes(pickle.dumps({"data": images, "labels": labels}))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [f"class{i}" for i in range(num_classes)]}))
    return folder


@writer("ImageNet", "BasicConditionalDataset")
def write_conditional_dataset(dataset: dict, root: Path, sizes: Sizes, classes: int = 3) -> Path:
    """MMagic's BasicConditionalDataset / ImageNet: ``data_root/data_prefix/class<i>/<j>.png`` (not square,
    so the long-edge crops crop) and, when the config names one, ``ann_file`` listing
    ``class<i>/<j>.png i`` (ImageNet's ``meta/train.txt``). A ``.json`` ann_file is EG3D's
    ``dataset.json``: square ``img<k>.png`` images, each labelled with a camera (:func:`camera_label`)."""
    data_root = under(root, dataset.get("data_root"))
    prefix = dataset.get("data_prefix") or ""
    images = under(data_root, prefix if isinstance(prefix, str) else next(iter(prefix.values()), ""))
    rng = np.random.default_rng(4)
    if str(dataset.get("ann_file") or "").endswith(".json"):
        labels = {}
        for index in range(sizes.count):
            save_image(smooth_image(rng, sizes.image, sizes.image), images / f"img{index:08d}.png")
            labels[f"img{index:08d}.png"] = camera_label(rng)
        ann = under(data_root, dataset["ann_file"])
        ann.parent.mkdir(parents=True, exist_ok=True)
        ann.write_text(json.dumps(labels))
        return images
    lines = []
    for label in range(classes):
        for index in range(max(1, sizes.count // classes)):
            save_image(smooth_image(rng, sizes.image, sizes.image + 8), images / f"class{label}" / f"{index}.png")
            lines.append(f"class{label}/{index}.png {label}\n")
    if dataset.get("ann_file"):
        ann = under(data_root, dataset["ann_file"])
        ann.parent.mkdir(parents=True, exist_ok=True)
        ann.write_text("".join(lines))
    return images


def camera_label(rng: np.random.Generator, radius: float = 2.7, focal: float = 4.2647) -> list[float]:
    """EG3D's camera label: the flattened 4×4 camera-to-world matrix of a camera ``radius`` from the origin,
    looking at it from near the +z axis (yaw and pitch within ±0.3 rad), then the flattened 3×3 intrinsics
    ``[[focal, 0, 0.5], [0, focal, 0.5], [0, 0, 1]]`` (FFHQ's focal length in units of the image side)."""
    yaw, pitch = rng.uniform(-0.3, 0.3, 2)
    origin = radius * np.array([np.sin(yaw) * np.cos(pitch), np.sin(pitch), np.cos(yaw) * np.cos(pitch)])
    forward = -origin / np.linalg.norm(origin)
    right = -np.cross([0.0, 1.0, 0.0], forward)
    right /= np.linalg.norm(right)
    up = np.cross(forward, right)
    cam2world = np.eye(4)
    cam2world[:3, :3] = np.stack([right, up, forward], axis=1)
    cam2world[:3, 3] = origin
    intrinsics = [focal, 0.0, 0.5, 0.0, focal, 0.5, 0.0, 0.0, 1.0]
    return [float(v) for v in cam2world.reshape(-1)] + intrinsics


@writer("GrowScaleImgDataset")
def write_grow_scale_dataset(dataset: dict, root: Path, sizes: Sizes) -> Path:
    """MMagic's GrowScaleImgDataset: an image folder per ``data_roots`` scale (mgx reads the largest)."""
    folders = [write_images(under(root, folder), sizes.count, sizes.image)
               for folder in (dataset.get("data_roots") or {}).values()]
    return folders[-1] if folders else root


@writer("SinGANDataset")
def write_singan_dataset(dataset: dict, root: Path, sizes: Sizes) -> Path:
    """MMagic's SinGANDataset: the one image file ``data_root`` names, (2·image + 4) × (2·image + 8) px
    (``size_options`` sets the pyramid's min_size/max_size to match)."""
    path = under(root, dataset.get("data_root"))
    save_image(smooth_image(np.random.default_rng(3), 2 * sizes.image + 4, 2 * sizes.image + 8), path)
    return path.parent
