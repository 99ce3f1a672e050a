"""Synthetic data in the layouts of MMagic 1.2.0's diffusion datasets, with the writer signature of
``zoo_data.WRITERS`` (``function(dataset cfg, root, sizes) -> folder``): DreamBooth's and Textual
Inversion's concept folders (8×8 digits from scikit-learn, upscaled), Textual Inversion's template
file, and ControlNet's fill50k layout (``source/`` outlines, ``target/`` filled circles,
``prompt.json`` with one JSON object per line). Paths are relative to ``root`` (the folder the
commands run in), as the configs' data roots are.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .zoo_data import Sizes, _under, save_image


def digit_images(count: int, size: int) -> list[np.ndarray]:
    """``count`` scikit-learn digits as ``size``-px RGB uint8 images (bicubic upscale)."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits().images
    images = []
    for index in range(count):
        gray = (digits[index % len(digits)] / 16 * 255).astype(np.uint8)
        rgb = Image.fromarray(np.stack([gray] * 3, -1)).resize((size, size), Image.Resampling.BICUBIC)
        images.append(np.asarray(rgb))
    return images


def write_concept_folder(dataset: dict, root: Path, sizes: Sizes) -> Path:
    """DreamBoothDataset / TextualInversionDataset: ``data_root/concept_dir`` of digit images, and the
    Textual Inversion ``template`` file (relative to ``root``) when the dataset names one."""
    folder = _under(root, dataset.get("data_root")) / dataset.get("concept_dir", "imgs")
    for index, image in enumerate(digit_images(sizes.count, sizes.image)):
        save_image(image, folder / f"{index}.png")
    if dataset.get("template"):
        template = _under(root, dataset["template"])
        template.parent.mkdir(parents=True, exist_ok=True)
        template.write_text("a photo of a {}\na rendering of a {}\na picture of the {}\n")
    return folder


def circle_pair(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray, str]:
    """(outline on black, filled circle on a coloured background, its prompt) as fill50k draws them."""
    y, x = np.mgrid[:size, :size]
    cy, cx = rng.uniform(size * 0.3, size * 0.7, 2)
    radius = rng.uniform(size * 0.15, size * 0.3)
    distance = np.hypot(y - cy, x - cx)
    fill, background = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    source = np.zeros((size, size, 3), np.uint8)
    source[np.abs(distance - radius) < 1.0] = 255
    target = np.where((distance <= radius)[..., None], fill, background).astype(np.uint8)
    return source, target, f"a circle of colour {tuple(int(v) for v in fill)} on {tuple(int(v) for v in background)}"


def write_fill50k(dataset: dict, root: Path, sizes: Sizes) -> Path:
    """ControlNetDataset: ``data_root/source/<n>.png``, ``target/<n>.png`` and ``ann_file`` (prompt.json)."""
    data_root = _under(root, dataset.get("data_root", "./data/fill50k"))
    control_key, image_key = dataset.get("control_key", "source"), dataset.get("image_key", "target")
    rng = np.random.default_rng(5)
    lines = []
    for index in range(sizes.count):
        source, target, prompt = circle_pair(rng, sizes.image)
        save_image(source, data_root / "source" / f"{index}.png")
        save_image(target, data_root / "target" / f"{index}.png")
        lines.append(json.dumps({control_key: f"source/{index}.png", image_key: f"target/{index}.png", "prompt": prompt}))
    (data_root / dataset.get("ann_file", "prompt.json")).write_text("\n".join(lines) + "\n")
    return data_root


WRITERS = {"DreamBoothDataset": write_concept_folder, "TextualInversionDataset": write_concept_folder,
           "ControlNetDataset": write_fill50k}
