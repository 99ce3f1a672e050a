"""``GrowScaleImgDataset``: MMagic's dataset for progressive-growing GANs (PGGAN, StyleGANv1).

``data_roots`` maps a scale to a folder of images of (at least) that size, e.g. ``{'64': 'imgs_64',
'1024': 'imgs_1024'}``. MMagic switches, at each new training scale, to the smallest folder of at least
that scale and rebuilds the loader; mgx keeps one loader for the whole run (so a checkpoint resumes
at any iteration with the sampler's position) and reads the largest folder throughout: the model
resizes the reals to the current scale, as MMagic does whenever the folder is larger than the scale.
``len_per_stage`` > 0 repeats or truncates the image list to that length (MMagic's ``concat``); ≤ 0
keeps it. ``gpu_samples_per_scale`` / ``gpu_samples_base`` are the per-process batch of each scale;
``PGGANFetchDataHook`` applies them (docs/models.md, "PGGAN").
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from mgx.core.errors import ConfigError

from .datasets_base import PipelineDataset

IMAGE_SUFFIXES = (".jpg", ".png", ".jpeg", ".JPEG")


class GrowScaleImgDataset(PipelineDataset):
    METAINFO = dict(dataset_type="grow_scale_img_dataset", task_name="generation")

    def __init__(self, data_roots: dict, pipeline: Sequence[dict] | None = (), len_per_stage: int = int(1e6),
                 gpu_samples_per_scale: dict | None = None, gpu_samples_base: int = 32, io_backend: Any = None,
                 file_lists: Any = None, test_mode: bool = False) -> None:
        who = "GrowScaleImgDataset"
        if not isinstance(data_roots, dict) or not data_roots:
            raise ConfigError(f"{who}: data_roots must be a dict scale -> image folder, e.g. {{'128': 'imgs'}}, "
                              f"got {data_roots!r}")
        if io_backend not in (None, "disk", "local") or file_lists is not None:
            raise ConfigError(f"{who}: only local folders are read (io_backend=None, file_lists=None)")
        try:
            self.scales = sorted(int(scale) for scale in data_roots)
        except (TypeError, ValueError):
            raise ConfigError(f"{who}: data_roots keys must be scales ('64', 64), got {sorted(data_roots)}") from None
        self.samples_per_scale = self._batches(gpu_samples_per_scale, gpu_samples_base, who)
        self.gpu_samples_base = gpu_samples_base
        self.data_roots = {int(scale): Path(str(root)).expanduser() for scale, root in data_roots.items()}
        self.data_root = self.data_roots[self.scales[-1]]
        self.files = self._list(self.data_root, who)
        if isinstance(len_per_stage, bool) or not isinstance(len_per_stage, int):
            raise ConfigError(f"{who}: len_per_stage must be an int (≤ 0 keeps the folder's length), "
                              f"got {len_per_stage!r}")
        if len_per_stage > 0:
            repeats = len_per_stage // len(self.files) + 1
            self.files = (self.files * repeats)[:len_per_stage]
        self.test_mode = bool(test_mode)
        self.metainfo = dict(self.METAINFO)
        super().__init__(pipeline)

    @staticmethod
    def _batches(per_scale: Any, base: Any, who: str) -> dict[int, int]:
        if isinstance(base, bool) or not isinstance(base, int) or base < 1:
            raise ConfigError(f"{who}: gpu_samples_base must be a positive int, got {base!r}")
        if per_scale is None:
            return {}
        if not isinstance(per_scale, dict):
            raise ConfigError(f"{who}: gpu_samples_per_scale must be a dict scale -> batch, got {per_scale!r}")
        batches = {}
        for scale, count in per_scale.items():
            if isinstance(count, bool) or not isinstance(count, int) or count < 1 or not str(scale).isdigit():
                raise ConfigError(f"{who}: gpu_samples_per_scale[{scale!r}] must be a positive int for a scale "
                                  f"key like '64', got {count!r}")
            batches[int(scale)] = count
        return batches

    @staticmethod
    def _list(folder: Path, who: str) -> list[Path]:
        if not folder.is_dir():
            raise ConfigError(f"{who}: data root {str(folder)!r} (the largest scale of data_roots) is not a folder")
        files = sorted(path for path in folder.rglob("*") if path.is_file() and path.suffix in IMAGE_SUFFIXES)
        if not files:
            raise ConfigError(f"{who}: no {'/'.join(IMAGE_SUFFIXES)} images under {str(folder)!r}")
        return files

    def samples_per_gpu(self, scale: int) -> int:
        """The per-process batch MMagic uses at ``scale``."""
        return self.samples_per_scale.get(int(scale), self.gpu_samples_base)

    def __len__(self) -> int:
        return len(self.files)

    def raw_sample(self, idx: int) -> dict:
        return {"gt_path": str(self.files[idx])}


__all__ = ["GrowScaleImgDataset"]
