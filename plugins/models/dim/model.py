"""``DIM`` (MMagic 1.2.0's name, arguments and schedule): Deep Image Matting's encoder-decoder, optionally
refined. ``train_cfg=dict(train_backbone, train_refiner)`` chooses the stages: stage 1 trains the backbone
(alpha + composition losses), stage 2 the refiner alone (the backbone frozen, its BatchNorms in eval
mode), stage 3 both; ``test_cfg.refine`` picks the refined alpha for evaluation. Losses are weighted by the
trimap's unknown region (processed trimap = 128/255)."""
from __future__ import annotations

import logging
from typing import Any

import torch

from mgx.core.errors import ConfigError
from mgx.core.registry import build

from ..base_models.base_mattor import BaseMattor, unknown_weight

log = logging.getLogger(__name__)


class DIM(BaseMattor):
    """Deep Image Matting (module docstring)."""

    TRAIN_KEYS = frozenset({"train_backbone", "train_refiner"})
    TEST_KEYS = BaseMattor.TEST_KEYS | {"refine"}

    def __init__(self, data_preprocessor: dict | None, backbone: dict, refiner: dict | None = None,
                 train_cfg: dict | None = None, test_cfg: dict | None = None, loss_alpha: dict | None = None,
                 loss_comp: dict | None = None, loss_refine: dict | None = None, init_cfg: dict | None = None) -> None:
        super().__init__(data_preprocessor, backbone, init_cfg, train_cfg, test_cfg)
        self.refiner = build(refiner, "model") if refiner is not None else None
        self.train_backbone = bool(self.train_cfg.get("train_backbone", True))
        self.train_refiner = bool(self.train_cfg.get("train_refiner", False)) and self.refiner is not None
        self.refine = bool(self.test_cfg.get("refine", False)) and self.refiner is not None
        if self.refine and not self.train_refiner:
            log.warning("DIM: the refiner is used for evaluation (test_cfg.refine=True) but not trained")
        if all(cfg is None for cfg in (loss_alpha, loss_comp, loss_refine)):
            raise ConfigError("DIM: give at least one of loss_alpha, loss_comp, loss_refine")
        if self.train_refiner and loss_refine is None:
            raise ConfigError("DIM: train_cfg.train_refiner=True needs loss_refine=dict(type=...)")
        self.loss_alpha = build(loss_alpha, "model") if loss_alpha is not None else None
        self.loss_comp = build(loss_comp, "model") if loss_comp is not None else None
        self.loss_refine = build(loss_refine, "model") if loss_refine is not None else None
        if not self.train_backbone:
            for parameter in self.backbone.parameters():
                parameter.requires_grad_(False)

    def train(self, mode: bool = True) -> "DIM":
        super().train(mode)
        if mode and not self.train_backbone:
            self.backbone.eval()  # a frozen backbone keeps its BatchNorm statistics
        return self

    def run(self, inputs: torch.Tensor, refine: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(backbone alpha, refined alpha or None)."""
        raw_alpha = self.backbone(inputs)
        pred_alpha = raw_alpha.sigmoid()
        if refine and self.refiner is not None:
            return pred_alpha, self.refiner(torch.cat([inputs[:, :3], pred_alpha], dim=1), raw_alpha)
        return pred_alpha, None

    def forward_test(self, inputs: torch.Tensor) -> torch.Tensor:
        pred_alpha, pred_refine = self.run(inputs, self.refine)
        return pred_refine if self.refine else pred_alpha

    def losses(self, inputs: torch.Tensor, batch: dict, who: str) -> dict[str, torch.Tensor]:
        truths = self.truths(batch, ("gt_alpha", "gt_fg", "gt_bg", "gt_merged") if self.loss_comp is not None
                             and self.train_backbone else ("gt_alpha",), who)
        pred_alpha, pred_refine = self.run(inputs, self.train_refiner)
        weight = unknown_weight(inputs[:, 3:], self.UNKNOWN_VALUE)
        losses: dict[str, Any] = {}
        if self.train_backbone:
            if self.loss_alpha is not None:
                losses["loss_alpha"] = self.loss_alpha(pred_alpha, truths["gt_alpha"], weight)
            if self.loss_comp is not None:
                losses["loss_comp"] = self.loss_comp(pred_alpha, truths["gt_fg"], truths["gt_bg"],
                                                     truths["gt_merged"], weight)
        if self.train_refiner:
            losses["loss_refine"] = self.loss_refine(pred_refine, truths["gt_alpha"], weight)
        return losses


__all__ = ["DIM"]
