"""``PGGANFetchDataHook``: the per-scale batch size of progressive-growing GANs.

MMagic's hook rebuilds the train loader with ``GrowScaleImgDataset``'s ``gpu_samples_per_scale[scale]``
(default ``gpu_samples_base``) as its batch size whenever the model's next scale changes. mgx keeps one
loader for the run (its position is what a checkpoint resumes from), so ``train_dataloader.batch_size``
is the largest per-process batch, and before each iteration this hook cuts the batch to the count of the
scale the model trains next (``_next_scale_int``). A scale asking for more images than the loader's
batch_size gets the whole batch (warned once per scale).
"""
from __future__ import annotations

import logging
from typing import Any

import torch

from mgx.core.errors import ConfigError
from mgx.core.hookspecs import hookimpl


def _cut(value: Any, size: int, count: int) -> Any:
    if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape[0] == size:
        return value[:count]
    if isinstance(value, list) and len(value) == size:
        return value[:count]
    if isinstance(value, dict):
        return {key: _cut(item, size, count) for key, item in value.items()}
    return value


def cut_batch(batch: dict, count: int) -> None:
    """Keeps the first ``count`` samples of every per-sample entry of ``batch`` (in place)."""
    images = batch.get("inputs")
    size = images.shape[0] if isinstance(images, torch.Tensor) else None
    if size is None or count >= size:
        return
    for key in list(batch):
        batch[key] = _cut(batch[key], size, count)


class PGGANFetchDataHook:
    def __init__(self, priority: Any = None) -> None:
        self._warned: set[int] = set()

    @staticmethod
    def _dataset_batches(run: Any) -> tuple[dict, int]:
        dataset = (run.cfg.get("train_dataloader") or {}).get("dataset") or {}
        if dataset.get("type") != "GrowScaleImgDataset":
            raise ConfigError(f"PGGANFetchDataHook: train_dataloader.dataset must be GrowScaleImgDataset (it holds "
                              f"gpu_samples_per_scale), got {dataset.get('type')!r}")
        per_scale = {int(scale): count for scale, count in (dataset.get("gpu_samples_per_scale") or {}).items()}
        return per_scale, int(dataset.get("gpu_samples_base", 32))

    @hookimpl
    def mgx_before_run(self, run: Any) -> None:
        if run.mode == "train":
            if not hasattr(run.model, "_next_scale_int"):
                raise ConfigError(f"PGGANFetchDataHook needs a progressive-growing model (ProgressiveGrowingGAN, "
                                  f"StyleGANv1), got {type(run.model).__name__}")
            self._dataset_batches(run)

    @hookimpl
    def mgx_before_train_iter(self, run: Any, iteration: int, batch: Any) -> None:
        per_scale, base = self._dataset_batches(run)
        scale = int(run.model._next_scale_int)
        count = per_scale.get(scale, base)
        size = batch["inputs"].shape[0] if isinstance(batch, dict) and "inputs" in batch else None
        if size is not None and count > size and scale not in self._warned:
            self._warned.add(scale)
            logging.getLogger("mgx").warning(
                "PGGANFetchDataHook: scale %d asks for %d images per process but train_dataloader.batch_size is "
                "%d; training with %d (set batch_size to the largest gpu_samples_per_scale)", scale, count, size, size)
        cut_batch(batch, count)


__all__ = ["PGGANFetchDataHook", "cut_batch"]
