"""Class-labelled image datasets as MMagic 1.2.0's conditional-GAN configs name them:
``BasicConditionalDataset`` (class folders, or an ``ann_file`` of ``path label`` lines), its alias
``ImageNet``, and ``CIFAR10`` (the ``cifar-10-batches-py`` pickles). Every sample carries
``gt_label`` (an int), which ``PackInputs`` passes through and the batch collates to an N tensor.
"""
from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from mgx.core.errors import ConfigError

from .datasets_base import PipelineDataset

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def _joined(data_root: str | None, prefix: str) -> Path:
    path = Path(prefix).expanduser()
    if data_root and not path.is_absolute():
        path = Path(data_root).expanduser() / path
    return path


def _is_vector(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)


class BasicConditionalDataset(PipelineDataset):
    """MMagic's ``BasicConditionalDataset``: images under ``data_root``/``data_prefix`` with class labels.

    Without ``ann_file`` each sub-folder is a class (sorted names -> 0, 1, ...), its images (any depth)
    the samples; with ``ann_file`` (read under ``data_root``) a ``.txt`` of ``relative/path.png LABEL``
    lines or a ``.json`` ``{path: label}`` (a label there may be a list of numbers: a float32 vector, as
    EG3D's cameras). A sample is ``gt_path`` (also ``img_path``, so MMagic's
    ``LoadImageFromFile(key='img')`` pipelines read the same file) and ``gt_label``.
    ``metainfo['classes']`` / ``classes`` name the classes; ``test_mode``, ``lazy_init`` accepted.
    """

    def __init__(self, ann_file: str = "", metainfo: dict | None = None, data_root: str = "",
                 data_prefix: str | dict = "", pipeline: Sequence[dict] | None = (), test_mode: bool = False,
                 classes: Sequence[str] | None = None, lazy_init: bool = False, **unknown: Any) -> None:
        who = type(self).__name__
        if unknown:
            raise ConfigError(f"{who}: unknown argument(s) {sorted(unknown)}")
        if isinstance(data_prefix, dict):
            if set(data_prefix) - {"gt_path", "img_path", "img"}:
                raise ConfigError(f"{who}: data_prefix must be a folder or dict(gt_path=folder), got {data_prefix!r}")
            data_prefix = next(iter(data_prefix.values()), "")
        if not (ann_file or data_prefix or data_root):
            raise ConfigError(f"{who}: one of ann_file, data_root and data_prefix must be set")
        self.image_root = _joined(data_root, data_prefix or "")
        self.metainfo = dict(metainfo or {})
        if classes is not None:
            self.metainfo["classes"] = tuple(classes)
        self.test_mode = bool(test_mode)
        if ann_file:
            self.samples = self._from_ann_file(_joined(data_root, ann_file), who)
        else:
            self.samples = self._from_class_folders(who)
        super().__init__(pipeline)

    def _from_ann_file(self, path: Path, who: str) -> list[tuple[Path, int]]:
        if not path.is_file():
            raise ConfigError(f"{who}: ann_file {str(path)!r} does not exist (relative to data_root)")
        if path.suffix == ".json":
            pairs = list(json.loads(path.read_text()).items())
        elif path.suffix == ".txt":
            pairs = [line.strip().rsplit(" ", 1) for line in path.read_text().splitlines() if line.strip()]
        else:
            raise ConfigError(f"{who}: ann_file must be a .txt or .json file, got {str(path)!r}")
        samples = []
        for number, pair in enumerate(pairs, 1):
            if len(pair) == 2 and _is_vector(pair[1]) and path.suffix == ".json":
                # a label that is a list of numbers (EG3D's camera: 16 + 9 numbers per image)
                samples.append((self.image_root / pair[0], np.asarray(pair[1], dtype=np.float32)))
                continue
            if len(pair) != 2 or not str(pair[1]).lstrip("-").isdigit():
                raise ConfigError(f"{who}: {path} entry {number} must be 'relative/path LABEL' with an integer "
                                  f"label (or, in a .json, a list of numbers), got {pair!r}")
            samples.append((self.image_root / pair[0], int(pair[1])))
        if not samples:
            raise ConfigError(f"{who}: ann_file {str(path)!r} lists no images")
        return samples

    def _from_class_folders(self, who: str) -> list[tuple[Path, int]]:
        if not self.image_root.is_dir():
            raise ConfigError(f"{who}: image folder {str(self.image_root)!r} (data_root + data_prefix) does not "
                              f"exist; point data_root at a folder of class sub-folders")
        folders = sorted(p for p in self.image_root.iterdir() if p.is_dir())
        classes = self.metainfo.get("classes")
        if classes is not None and len(classes) != len(folders):
            raise ConfigError(f"{who}: {len(folders)} class folders in {self.image_root} but metainfo names "
                              f"{len(classes)} classes")
        self.metainfo.setdefault("classes", tuple(p.name for p in folders))
        samples = [(file, label) for label, folder in enumerate(folders) for file in sorted(folder.rglob("*"))
                   if file.suffix.lower() in IMAGE_SUFFIXES]
        if not samples:
            raise ConfigError(f"{who}: no images in the class sub-folders of {self.image_root} (suffixes "
                              f"{', '.join(IMAGE_SUFFIXES)})")
        return samples

    def __len__(self) -> int:
        return len(self.samples)

    def raw_sample(self, idx: int) -> dict:
        path, label = self.samples[idx]
        return {"gt_path": str(path), "img_path": str(path), "gt_label": label}

    def get_gt_labels(self) -> np.ndarray:
        return np.array([label for _, label in self.samples])


class ImageNet(BasicConditionalDataset):
    """MMagic's ``ImageNet``: a :class:`BasicConditionalDataset` (``meta/train.txt`` lists ``path label``)."""


class CIFAR10(PipelineDataset):
    """MMagic's ``CIFAR10``: the python pickles in ``data_root/data_prefix/cifar-10-batches-py``.

    ``test_mode=False`` reads ``data_batch_1..5``, ``True`` ``test_batch``; a sample is ``gt`` (32×32×3
    uint8 RGB) and ``gt_label``. The archive is not downloaded here (``download=True`` is refused) and
    its MD5 sums are not checked, so a folder of batches written in the same format also works.
    """

    base_folder = "cifar-10-batches-py"
    train_files = tuple(f"data_batch_{i}" for i in range(1, 6))
    test_files = ("test_batch",)

    def __init__(self, data_prefix: str, test_mode: bool = False, metainfo: dict | None = None,
                 data_root: str = "", download: bool = False, pipeline: Sequence[dict] | None = (),
                 lazy_init: bool = False) -> None:
        folder = _joined(data_root, data_prefix) / self.base_folder
        if download:
            raise ConfigError("CIFAR10: download=True is not supported; fetch cifar-10-python.tar.gz yourself "
                              f"and unpack it so that {folder} holds data_batch_1..5 and test_batch")
        names = self.test_files if test_mode else self.train_files
        missing = [name for name in names if not (folder / name).is_file()]
        if missing:
            raise ConfigError(f"CIFAR10: {folder} lacks {missing} (data_root + data_prefix + "
                              f"{self.base_folder!r}); unpack CIFAR-10's python version there")
        images, labels = [], []
        for name in names:
            with open(folder / name, "rb") as handle:
                entry = pickle.load(handle, encoding="latin1")
            images.append(np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            labels.extend(entry["labels"] if "labels" in entry else entry["fine_labels"])
        self.images = np.ascontiguousarray(np.concatenate(images).transpose(0, 2, 3, 1))
        self.labels = [int(label) for label in labels]
        self.metainfo = dict(metainfo or {})
        meta = folder / "batches.meta"
        if "classes" not in self.metainfo and meta.is_file():
            with open(meta, "rb") as handle:
                self.metainfo["classes"] = tuple(pickle.load(handle, encoding="latin1")["label_names"])
        super().__init__(pipeline)

    def __len__(self) -> int:
        return len(self.labels)

    def raw_sample(self, idx: int) -> dict:
        return {"gt": self.images[idx].copy(), "gt_label": self.labels[idx], "gt_channel_order": "rgb"}

    def get_gt_labels(self) -> np.ndarray:
        return np.array(self.labels)


__all__ = ["BasicConditionalDataset", "CIFAR10", "ImageNet"]
