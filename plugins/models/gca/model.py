"""``GCA`` (MMagic 1.2.0's name and arguments): GCA matting. The backbone's raw output r gives the alpha
(tanh(r) + 1) / 2; training minimises ``loss_alpha`` on the trimap's unknown region (one-hot trimaps: the
middle channel; 0/1/2 trimaps: 1), logged as ``loss``."""
from __future__ import annotations

import torch

from mgx.core.errors import ConfigError
from mgx.core.registry import build

from ..base_models.base_mattor import BaseMattor, unknown_weight


class GCA(BaseMattor):
    UNKNOWN_VALUE = 1.0  # FormatTrimap's 0/1/2 trimap, processed 'as_is'

    def __init__(self, data_preprocessor: dict | None, backbone: dict, loss_alpha: dict | None = None,
                 init_cfg: dict | None = None, train_cfg: dict | None = None, test_cfg: dict | None = None) -> None:
        super().__init__(data_preprocessor, backbone, init_cfg, train_cfg, test_cfg)
        if loss_alpha is None:
            raise ConfigError("GCA: loss_alpha=dict(type='L1Loss') is required")
        self.loss_alpha = build(loss_alpha, "model")

    def forward_test(self, inputs: torch.Tensor) -> torch.Tensor:
        return (self.backbone(inputs).tanh() + 1.0) / 2.0

    def losses(self, inputs: torch.Tensor, batch: dict, who: str) -> dict[str, torch.Tensor]:
        gt_alpha = self.truths(batch, ("gt_alpha",), who)["gt_alpha"]
        weight = unknown_weight(inputs[:, 3:], self.UNKNOWN_VALUE)
        return {"loss": self.loss_alpha(self.forward_test(inputs), gt_alpha, weight)}


__all__ = ["GCA"]
