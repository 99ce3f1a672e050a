"""``PairedDigitsDataset``: scikit-learn's digits as super-resolution pairs (offline, in memory).

The ground truth ``gt`` is ``DigitsDataset``'s image at ``gt_size`` (RGB uint8);
the low-quality ``lq`` is that image downsampled by ``scale`` with Pillow's
bicubic filter (antialiased, like the bicubic LR images of DIV2K). After
``PackInputs`` a batch has ``gt_img`` (N×3×gt_size×gt_size) and ``lq_img``
(N×3×(gt_size/scale)²), the pair a ``BaseEditModel`` trains on.
``lq_key='img'`` names the input as MMagic's paired pipelines do.
"""
from __future__ import annotations

import functools
from typing import Sequence

import numpy as np

from mgx.core.errors import ConfigError

from .datasets import DigitsDataset, _digits_images


@functools.lru_cache(maxsize=8)
def _downsampled(gt_size: int, scale: int) -> np.ndarray:
    from PIL import Image

    hr, _ = _digits_images(gt_size)
    lr_size = gt_size // scale
    lr = np.stack([np.asarray(Image.fromarray(image).resize((lr_size, lr_size), Image.Resampling.BICUBIC))
                   for image in hr])
    lr.setflags(write=False)
    return lr


class PairedDigitsDataset(DigitsDataset):
    """Fields ``gt``, ``lq`` (or ``lq_key``), ``label``; splits as ``DigitsDataset``."""

    def __init__(self, scale: int = 2, gt_size: int = 32, split: str = "all", val_fraction: float = 0.1,
                 lq_key: str = "lq", pipeline: Sequence[dict] | None = ()) -> None:
        if isinstance(scale, bool) or not isinstance(scale, int) or scale < 2:
            raise ConfigError(f"PairedDigitsDataset: scale must be an int ≥ 2 (2, 3, 4), got {scale!r}")
        if isinstance(gt_size, bool) or not isinstance(gt_size, int) or gt_size < scale or gt_size % scale:
            raise ConfigError(f"PairedDigitsDataset: gt_size must be a multiple of scale={scale} "
                              f"(e.g. {scale * 8}), got {gt_size!r}")
        if lq_key in ("gt", "label") or not isinstance(lq_key, str) or not lq_key:
            raise ConfigError(f"PairedDigitsDataset: lq_key must be a field name other than 'gt'/'label', got {lq_key!r}")
        super().__init__(image_size=gt_size, split=split, val_fraction=val_fraction, pipeline=pipeline)
        self.scale, self.gt_size, self.lq_key = scale, gt_size, lq_key
        self.lq_images = _downsampled(gt_size, scale)

    def raw_sample(self, idx: int) -> dict:
        source = int(self.indices[idx])
        return {"gt": self.images[source].copy(), self.lq_key: self.lq_images[source].copy(),
                "label": int(self.labels[source])}

    def _packed_layout(self) -> dict[str, str]:
        """Which packed field holds 'gt' and which 'lq': PackInputs applied to one sample, told apart
        by size (scale ≥ 2), so the one-gather batch has exactly PackInputs' names."""
        sample = self.raw_sample(0)
        packed = self.pipeline[0](dict(sample))
        sizes = {sample["gt"].shape[0]: "gt", sample[self.lq_key].shape[0]: "lq"}
        return {name: sizes[value.shape[-1]] for name, value in packed.items()
                if hasattr(value, "dim") and value.dim() == 3}

    def get_batch(self, indices: Sequence[int]) -> dict:
        """With a pipeline of just PackInputs, one gather per field (the same batch as per-sample packing)."""
        from .transforms import PackInputs

        if not (len(self.pipeline) == 1 and type(self.pipeline[0]) is PackInputs):
            return super(DigitsDataset, self).get_batch(indices)
        import torch

        positions = np.asarray(indices, dtype=np.int64) % len(self)
        source = self.indices[positions]
        if getattr(self, "_paired_chw", None) is None:
            self._layout = self._packed_layout()
            self._paired_chw = {"gt": np.ascontiguousarray(self.images.transpose(0, 3, 1, 2)),
                                "lq": np.ascontiguousarray(self.lq_images.transpose(0, 3, 1, 2))}
        gathered = {field: torch.from_numpy(array[source]) for field, array in self._paired_chw.items()}
        batch = {name: gathered[field] for name, field in self._layout.items()}
        batch.update(label=torch.from_numpy(self.labels[source]), sample_idx=torch.from_numpy(positions))
        return batch
