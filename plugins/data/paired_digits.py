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
        if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
            raise ConfigError(f"PairedDigitsDataset: scale must be a positive int (2, 3, 4), got {scale!r}")
        if isinstance(gt_size, bool) or not isinstance(gt_size, int) or gt_size < scale or gt_size % scale:
            raise ConfigError(f"PairedDigitsDataset: gt_size must be a multiple of scale={scale} "
                              f"(e.g. {scale * 8 * (4 // scale or 1)}), got {gt_size!r}")
        if lq_key in ("gt", "label") or not isinstance(lq_key, str) or not lq_key:
            raise ConfigError(f"PairedDigitsDataset: lq_key must be a field name other than 'gt'/'label', got {lq_key!r}")
        super().__init__(image_size=gt_size, split=split, val_fraction=val_fraction, pipeline=pipeline)
        self.scale, self.gt_size, self.lq_key = scale, gt_size, lq_key
        self.lq_images = _downsampled(gt_size, scale)

    def raw_sample(self, idx: int) -> dict:
        source = int(self.indices[idx])
        return {"gt": self.images[source].copy(), self.lq_key: self.lq_images[source].copy(),
                "label": int(self.labels[source])}

    def get_batch(self, indices: Sequence[int]) -> dict:
        """With a pipeline of just PackInputs (and ``lq_key='lq'``), one gather per field."""
        from .transforms import PackInputs

        if not (self.lq_key == "lq" and len(self.pipeline) == 1 and type(self.pipeline[0]) is PackInputs
                and self.pipeline[0].keys is None):
            return super(DigitsDataset, self).get_batch(indices)
        import torch

        positions = np.asarray(indices, dtype=np.int64) % len(self)
        source = self.indices[positions]
        if getattr(self, "_paired_chw", None) is None:
            self._paired_chw = (np.ascontiguousarray(self.images.transpose(0, 3, 1, 2)),
                                np.ascontiguousarray(self.lq_images.transpose(0, 3, 1, 2)))
        gt, lq = self._paired_chw
        return {"gt_img": torch.from_numpy(gt[source]), "lq_img": torch.from_numpy(lq[source]),
                "label": torch.from_numpy(self.labels[source]), "sample_idx": torch.from_numpy(positions)}
