"""MMagic's image-translation datasets: ``PairedImageDataset`` (A|B side by side in one file) and
``UnpairedImageDataset`` (two folders of unrelated images), in its folder layouts:

- paired: ``data_root/train/*.jpg`` and ``data_root/<test_dir>/*.jpg`` (``test_mode=True``);
- unpaired: ``data_root/trainA``, ``trainB`` (``testA``, ``testB`` with ``test_mode=True``).

Images are found recursively with MMagic's suffixes, sorted by path.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from mgx.core.errors import ConfigError

from .datasets_base import PipelineDataset

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".tif", ".tiff")


def scan_images(folder: Path, who: str) -> list[str]:
    """Every image under ``folder`` (recursively, MMagic's suffixes in either case), sorted by path."""
    if not folder.is_dir():
        raise ConfigError(f"{who}: folder {str(folder)!r} does not exist; data_root must hold MMagic's layout "
                          f"(see docs/data.md, 'Image translation')")
    images = sorted(str(path) for path in folder.rglob("*") if path.is_file()
                    and path.suffix.lower() in IMG_EXTENSIONS and path.suffix in (path.suffix.lower(),
                                                                                path.suffix.upper()))
    if not images:
        raise ConfigError(f"{who}: {str(folder)!r} has no image file ({', '.join(IMG_EXTENSIONS)})")
    return images


def _root(data_root: Any, who: str) -> Path:
    if not isinstance(data_root, (str, Path)) or not str(data_root):
        raise ConfigError(f"{who}: data_root must be the dataset folder, got {data_root!r} (MMagic's configs "
                          f"set it from `dataroot`; override with --cfg-options ...dataset.data_root=...)")
    return Path(data_root).expanduser()


def _local(io_backend: Any, who: str) -> None:
    if io_backend not in (None, "local", "disk"):
        raise ConfigError(f"{who}: only local files are supported; io_backend={io_backend!r}")


class PairedImageDataset(PipelineDataset):
    """Each sample: ``pair_path`` of one image holding domain A left and domain B right
    (``LoadPairedImageFromFile`` splits it). ``test_mode`` reads ``test_dir`` instead of ``train``."""

    def __init__(self, data_root: str, pipeline: Sequence[dict] = (), io_backend: str | None = None,
                 test_mode: bool = False, test_dir: str = "test") -> None:
        who = "PairedImageDataset"
        _local(io_backend, who)
        self.test_mode = bool(test_mode)
        self.data_root = _root(data_root, who) / (test_dir if test_mode else "train")
        self.pair_paths = scan_images(self.data_root, who)
        super().__init__(pipeline)

    def __len__(self) -> int:
        return len(self.pair_paths)

    def raw_sample(self, idx: int) -> dict:
        return {"pair_path": self.pair_paths[idx]}


class UnpairedImageDataset(PipelineDataset):
    """Each sample: ``img_{domain_a}_path`` (the ``idx``-th A image, cycling) and ``img_{domain_b}_path``:
    a random B image in training (numpy's global generator, as MMagic draws it; the engine seeds and
    checkpoints it), the ``idx``-th (cycling) with ``test_mode``. Length: the larger domain."""

    def __init__(self, data_root: str, pipeline: Sequence[dict] = (), io_backend: str | None = None,
                 test_mode: bool = False, domain_a: str = "A", domain_b: str = "B") -> None:
        who = "UnpairedImageDataset"
        _local(io_backend, who)
        for name, value in (("domain_a", domain_a), ("domain_b", domain_b)):
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{who}: {name} must be a name, got {value!r}")
        self.test_mode, self.domain_a, self.domain_b = bool(test_mode), domain_a, domain_b
        phase = "test" if test_mode else "train"
        root = _root(data_root, who)
        self.paths_a = scan_images(root / f"{phase}A", who)
        self.paths_b = scan_images(root / f"{phase}B", who)
        super().__init__(pipeline)

    def __len__(self) -> int:
        return max(len(self.paths_a), len(self.paths_b))

    def raw_sample(self, idx: int) -> dict:
        index_b = idx % len(self.paths_b) if self.test_mode else int(np.random.randint(0, len(self.paths_b)))
        return {f"img_{self.domain_a}_path": self.paths_a[idx % len(self.paths_a)],
                f"img_{self.domain_b}_path": self.paths_b[index_b]}


__all__ = ["PairedImageDataset", "UnpairedImageDataset", "scan_images"]
