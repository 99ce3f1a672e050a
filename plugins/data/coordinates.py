"""``GenerateCoordinateAndCell`` (LIIF): query coordinates and cell sizes of the target image."""
from __future__ import annotations

from typing import Any

import numpy as np

from mgx.core.errors import ConfigError, MgxError

from .transform_utils import sample_rng


def make_coord(height: int, width: int) -> Any:
    """Pixel-centre coordinates in [-1, 1], (row, col) per pixel, flattened to (H·W) × 2 (float32)."""
    import torch

    rows = -1 + 1 / height + (2 / height) * torch.arange(height).float()
    cols = -1 + 1 / width + (2 / width) * torch.arange(width).float()
    return torch.stack(torch.meshgrid(rows, cols, indexing="ij"), dim=-1).view(-1, 2)


class GenerateCoordinateAndCell:
    """Add ``coord`` ((H·W) × 2, see ``make_coord``) and ``cell`` (each row ``(2/H, 2/W)``) for the target size.

    The target size is ``gt``'s (which, with ``reshape_gt``, becomes an (H·W) × C
    tensor of its pixels), else the ``img``'s size times ``scale``, else
    ``target_size``. ``sample_quantity``: keep that many random pixels
    (coordinates and ``gt`` rows alike) so batches stack.
    """

    def __init__(self, sample_quantity: int | None = None, scale: float | None = None,
                 target_size: Any = None, reshape_gt: bool = True) -> None:
        if sample_quantity is not None and (isinstance(sample_quantity, bool) or not isinstance(sample_quantity, int)
                                            or sample_quantity < 1):
            raise ConfigError(f"GenerateCoordinateAndCell: sample_quantity must be a positive int, got {sample_quantity!r}")
        self.sample_quantity, self.scale, self.target_size = sample_quantity, scale, target_size
        self.reshape_gt = bool(reshape_gt) or sample_quantity is not None

    def __call__(self, sample: dict) -> dict:
        import torch

        if "gt" in sample:
            gt = sample["gt"]
            chw = gt if isinstance(gt, torch.Tensor) else torch.from_numpy(
                np.ascontiguousarray((gt[..., None] if gt.ndim == 2 else gt).transpose(2, 0, 1)))
            height, width = chw.shape[-2:]
            if self.reshape_gt:
                sample["gt"] = chw.reshape(chw.shape[0], -1).permute(1, 0)
        elif self.scale is not None and "img" in sample:
            image = sample["img"]
            h_lr, w_lr = image.shape[-2:] if isinstance(image, torch.Tensor) else image.shape[:2]
            height, width = round(h_lr * self.scale), round(w_lr * self.scale)
        elif self.target_size is not None and len(self.target_size) >= 2:
            height, width = self.target_size[-2:]
        else:
            raise MgxError("GenerateCoordinateAndCell: no target size: the sample has no 'gt', no 'img' with scale=, "
                           "and target_size is not set")
        coord = make_coord(int(height), int(width))
        if self.sample_quantity is not None and "gt" in sample:
            chosen = torch.from_numpy(sample_rng(sample, self).choice(len(coord), self.sample_quantity, replace=False))
            coord, sample["gt"] = coord[chosen], sample["gt"][chosen]
        cell = torch.ones_like(coord)
        cell[:, 0] *= 2 / height
        cell[:, 1] *= 2 / width
        sample["coord"], sample["cell"] = coord, cell
        return sample
