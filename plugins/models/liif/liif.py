"""``LIIF`` (MMagic's name and arguments): arbitrary-scale super-resolution on coordinate queries.

Batches (made by ``RandomDownSampling`` + ``GenerateCoordinateAndCell`` +
``PackInputs``, see docs/data.md): ``inputs`` the low-resolution image,
``coord``/``cell`` N×Q×2 queries, ``gt_img`` either the Q sampled target pixels
(N×Q×C, training) or the whole target image (N×C×H×W, validation/test). The
data preprocessor's per-channel mean/std apply to the last axis of query
pixels, as MMagic applies them to its (H·W)×C tensors.
"""
from __future__ import annotations

import math
from typing import Any

import torch

from mgx.core.errors import ConfigError, MgxError

from ..common import module_device
from ..base_models.base_edit_model import BaseEditModel
from .liif_net import pixel_centres


def _queries(batch: dict, who: str, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    values = [batch.get(key) if isinstance(batch, dict) else None for key in ("coord", "cell")]
    if not all(isinstance(v, torch.Tensor) and v.dim() == 3 and v.shape[-1] == 2 for v in values):
        fields = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
        raise MgxError(f"{who} needs batch['coord'] and batch['cell'] as N×Q×2 tensors: put "
                       f"dict(type='GenerateCoordinateAndCell', ...) before PackInputs; the batch has {fields}")
    coord, cell = values
    return coord.to(device, torch.float32), cell.to(device, torch.float32)


class LIIF(BaseEditModel):
    """A LIIF generator (``LIIFEDSRNet``/``LIIFRDNNet``) trained with a pixel loss on sampled query pixels."""

    def __init__(self, generator: dict, pixel_loss: dict | None, train_cfg: dict | None = None,
                 test_cfg: dict | None = None, init_cfg: dict | None = None,
                 data_preprocessor: dict | None = None) -> None:
        super().__init__(generator, pixel_loss, train_cfg, test_cfg, init_cfg, data_preprocessor)
        if self.tile_size is not None:
            raise ConfigError("LIIF: test_cfg tile_size is not supported (LIIF queries coordinates, not tiles); "
                              "bound memory with the generator's eval_bsize instead")

    def _pixels(self, values: torch.Tensor, inverse: bool = False) -> torch.Tensor:
        """Per-channel (x - mean) / std of N×Q×C query pixels (or its inverse)."""
        prep = self.data_preprocessor
        mean, std = prep.mean.view(1, 1, -1), prep.std.view(1, 1, -1)
        values = values.float()
        if not prep.normalizes:
            return values
        return values * std + mean if inverse else (values - mean) / std

    def train_step(self, batch: dict, optim) -> dict[str, torch.Tensor]:
        who = "LIIF.train_step"
        if self.pixel_loss is None:
            raise ConfigError("LIIF needs pixel_loss=dict(type='L1Loss', ...) to train")
        device = module_device(self)
        lq = self._input(batch, who, device)
        coord, cell = _queries(batch, who, device)
        gt = batch.get("gt_img")
        if not isinstance(gt, torch.Tensor) or gt.shape[:2] != coord.shape[:2]:
            raise MgxError(f"{who}: gt_img must hold the queried pixels (N×Q×C, Q={coord.shape[1]}): give "
                           f"GenerateCoordinateAndCell sample_quantity= (or reshape_gt=True) in the train pipeline")
        gt = self._pixels(gt.to(device))
        wrapper = optim["generator"] if "generator" in optim else optim
        with wrapper.optim_context(self.generator):
            loss = self.pixel_loss(self.generator(lq, coord, cell).float(), gt)
        wrapper.update_params(loss)
        return {"loss": loss.detach()}

    def _predict(self, lq: torch.Tensor, coord: torch.Tensor, cell: torch.Tensor,
                 size: tuple[int, int] | None) -> torch.Tensor:
        """[0, 255] N×C×H×W prediction for whole-image queries (H, W from ``size`` or from the query count)."""
        pred = self.generator(lq, coord, cell, test_mode=True)
        if size is None:
            scale = math.sqrt(coord.shape[1] / (lq.shape[-2] * lq.shape[-1]))
            size = (round(lq.shape[-2] * scale), round(lq.shape[-1] * scale))
        if size[0] * size[1] != pred.shape[1]:
            raise MgxError(f"LIIF: {pred.shape[1]} queries do not form a {size[0]}×{size[1]} image: validation "
                           f"and test need GenerateCoordinateAndCell without sample_quantity")
        pred = self._pixels(pred, inverse=True).clamp(0.0, 255.0)
        return pred.view(pred.shape[0], *size, -1).permute(0, 3, 1, 2).contiguous()

    @torch.no_grad()
    def val_step(self, batch: dict) -> dict[str, Any]:
        who = "LIIF.val_step"
        device = module_device(self)
        lq = self._input(batch, who, device)
        coord, cell = _queries(batch, who, device)
        gt = batch.get("gt_img") if isinstance(batch, dict) else None
        size = tuple(gt.shape[-2:]) if isinstance(gt, torch.Tensor) and gt.dim() == 4 else None
        outputs: dict[str, Any] = {"pred_img": self._predict(lq, coord, cell, size)}
        if size is not None:
            outputs["gt_img"] = gt
        return outputs

    @torch.no_grad()
    def forward(self, images: torch.Tensor, scale: float = 4.0) -> torch.Tensor:
        """Upscale N×C×h×w images in [0, 255] by ``scale`` (any positive number): float RGB in [0, 255]."""
        device = module_device(self)
        lq = self.data_preprocessor.normalize(images.to(device))
        size = (round(lq.shape[-2] * scale), round(lq.shape[-1] * scale))
        coord = pixel_centres(*size, device, torch.float32).flatten(1).t().unsqueeze(0).expand(len(lq), -1, -1)
        cell = coord.new_tensor([2 / size[0], 2 / size[1]]).expand_as(coord)
        return self._predict(lq, coord, cell, size)
