"""``IndexNet`` (MMagic 1.2.0's name and arguments): IndexNet matting. The backbone predicts the alpha directly;
training minimises ``loss_alpha`` and ``loss_comp`` on the trimap's unknown region (processed trimap
128/255)."""
from __future__ import annotations

import torch

from mgx.core.errors import ConfigError
from mgx.core.registry import build

from ..base_models.base_mattor import BaseMattor, unknown_weight


class IndexNet(BaseMattor):
    def __init__(self, data_preprocessor: dict | None, backbone: dict, loss_alpha: dict | None = None,
                 loss_comp: dict | None = None, init_cfg: dict | None = None, train_cfg: dict | None = None,
                 test_cfg: dict | None = None) -> None:
        super().__init__(data_preprocessor, backbone, init_cfg, train_cfg, test_cfg)
        if loss_alpha is None and loss_comp is None:
            raise ConfigError("IndexNet: give loss_alpha and/or loss_comp")
        self.loss_alpha = build(loss_alpha, "model") if loss_alpha is not None else None
        self.loss_comp = build(loss_comp, "model") if loss_comp is not None else None

    def forward_test(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.backbone(inputs)

    def losses(self, inputs: torch.Tensor, batch: dict, who: str) -> dict[str, torch.Tensor]:
        keys = ("gt_alpha", "gt_fg", "gt_bg", "gt_merged") if self.loss_comp is not None else ("gt_alpha",)
        truths = self.truths(batch, keys, who)
        pred_alpha = self.backbone(inputs)
        weight = unknown_weight(inputs[:, 3:], self.UNKNOWN_VALUE)
        losses = {}
        if self.loss_alpha is not None:
            losses["loss_alpha"] = self.loss_alpha(pred_alpha, truths["gt_alpha"], weight)
        if self.loss_comp is not None:
            losses["loss_comp"] = self.loss_comp(pred_alpha, truths["gt_fg"], truths["gt_bg"], truths["gt_merged"],
                                                 weight)
        return losses


__all__ = ["IndexNet"]
