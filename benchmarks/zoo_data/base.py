"""What every writer of synthetic trial data shares: the sizes of a trial, its result, the registry of
dataset writers (``@writer("TypeName")``) and a few image helpers."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np


@dataclass
class Sizes:
    crop: int = 32          # a training crop (PairedRandomCrop.gt_patch_size...)
    image: int = 32         # generated images, when the networks fix it (out_size/in_size)
    count: int = 8          # images per dataset folder
    scale: int = 1          # set per dataset: low-resolution partners are image/scale


@dataclass
class Trial:
    options: list[str] = field(default_factory=list)  # --cfg-options for `mgx run train` and `mgx run test`
    env: dict[str, str] = field(default_factory=dict)  # stand-in weights of the metrics' networks
    written: list[Path] = field(default_factory=list)  # dataset folders written
    test_only: bool = False  # the config has no training part (MMagic's conversion configs)
    pretrained: bool = False  # the model's weights all come from its config: tested without a checkpoint


class NoWriter(Exception):
    """The config reads a dataset type for which no synthetic-data writer exists (yet)."""


Writer = Callable[[dict, Path, Sizes], Path]
WRITERS: dict[str, Writer] = {}


def writer(*type_names: str) -> Callable[[Writer], Writer]:
    """Registers a function ``(dataset cfg, root, sizes) -> folder written`` for MMagic dataset types."""
    def register(function: Writer) -> Writer:
        for name in type_names:
            WRITERS[name] = function
        return function
    return register


def write_dataset(dataset: dict, root: Path, sizes: Sizes) -> Path:
    """Write what ``dataset`` (a config's ``dict(type=..., ...)``) reads; returns the folder written."""
    name = dataset.get("type")
    if name not in WRITERS:
        raise NoWriter(f"no synthetic-data writer for dataset type {name!r} (benchmarks/zoo_data/: @writer)")
    return WRITERS[name](dataset, root, sizes)


def under(root: Path, path: str | None) -> Path:
    """``path`` under ``root`` (an absolute one too: trials never write outside their folder)."""
    text = str(path or "")
    while text.startswith(("./", "/")):
        text = text[1:] if text.startswith("/") else text[2:]
    return root / text if text not in ("", ".") else root


def prefixes(dataset: dict) -> dict[str, str]:
    """A dataset's ``data_prefix`` as ``{field: folder}`` (a bare string is the ``img`` field's)."""
    prefix = dataset.get("data_prefix")
    if prefix is None:
        return {"img": ""}
    if isinstance(prefix, str):
        return {"img": prefix}
    return {key: value or "" for key, value in prefix.items()}


def smooth_image(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """An RGB uint8 image with photo-like smooth content (bicubic upsampling of 8×8 noise)."""
    from PIL import Image

    coarse = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC))


def save_image(image: np.ndarray, path: Path) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)


def downscale(image: np.ndarray, scale: int) -> np.ndarray:
    from PIL import Image

    height, width = image.shape[:2]
    return np.asarray(Image.fromarray(image).resize((width // scale, height // scale), Image.Resampling.BICUBIC))
