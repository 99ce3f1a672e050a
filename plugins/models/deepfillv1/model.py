"""``DeepFillv1Inpaintor`` (MMagic's name and arguments): the two-stage inpaintor with a global and a
local discriminator. The local one sees a ``train_cfg.local_size`` patch around ``batch['mask_bbox']``
(Global&Local's patches); the adversarial, discriminator-shift and gradient-penalty terms are taken for
each discriminator (the local penalty without a mask)."""
from __future__ import annotations

from typing import Any

import torch

from mgx.core.errors import ConfigError

from ..base_models.one_stage import named_optim
from ..base_models.two_stage import TwoStageInpaintor
from ..global_local.model import local_patches, mask_boxes


class DeepFillv1Inpaintor(TwoStageInpaintor):
    """See the module docstring."""

    TRAIN_KEYS = frozenset({"disc_step", "start_iter", "local_size"})

    def __init__(self, data_preprocessor: dict, encdec: dict, disc: dict | None = None, **kwargs: Any) -> None:
        super().__init__(data_preprocessor, encdec, disc, **kwargs)
        local_size = self.train_cfg.get("local_size", (128, 128))
        if not (isinstance(local_size, (list, tuple)) and len(local_size) == 2):
            raise ConfigError(f"DeepFillv1Inpaintor: model.train_cfg.local_size must be (h, w), got {local_size!r}")
        self.local_size = tuple(int(v) for v in local_size)

    def forward_train_d(self, data: Any, is_real: bool, is_disc: bool) -> dict[str, torch.Tensor]:
        global_pred, local_pred = self.disc(data)
        kind = "real" if is_real else "fake"
        losses = {f"{kind}_loss_global": self.loss_gan(global_pred, is_real, is_disc),
                  f"{kind}_loss_local": self.loss_gan(local_pred, is_real, is_disc)}
        if self.loss_disc_shift is not None:
            for part in ("global", "local"):
                losses[f"loss_disc_shift_{part}"] = self.loss_disc_shift(losses[f"{kind}_loss_{part}"]) * 0.5
        return losses

    def gradient_penalty(self, fake: Any, real: Any, mask: torch.Tensor | None) -> dict[str, torch.Tensor]:
        if self.loss_gp is None:
            return {}
        return {"loss_gp_global": self.loss_gp(self.disc.global_disc, real[0], fake[0], mask=mask),
                "loss_gp_local": self.loss_gp(self.disc.local_disc, real[1], fake[1])}

    def generator_gan_loss(self, fake_img: torch.Tensor, mask: torch.Tensor, fake_local: Any) -> torch.Tensor:
        global_pred, local_pred = self.disc((fake_img, fake_local))
        return self.loss_gan(global_pred, True, is_disc=False) + self.loss_gan(local_pred, True, is_disc=False)

    def train_step(self, batch: dict, optim) -> dict[str, torch.Tensor]:
        who = f"{type(self).__name__}.train_step"
        masked, mask, gt = self.batch_tensors(batch, who)
        boxes = mask_boxes(batch, who)
        gen_optim = named_optim(optim, "generator")
        with gen_optim.optim_context(self.generator):
            stage1_res, stage2_res = self.generate(masked, mask)
        stage1_img = masked * (1.0 - mask) + stage1_res * mask
        stage2_img = masked * (1.0 - mask) + stage2_res * mask
        stages = {"stage1": (stage1_res, stage1_img, None),
                  "stage2": (stage2_res, stage2_img, local_patches(stage2_img, boxes, self.local_size)),
                  "gt_local": local_patches(gt, boxes, self.local_size)}
        return self.update_networks(batch, optim, stages, gt, mask)

    def disc_pair(self, stages: dict, gt: torch.Tensor, mask: torch.Tensor) -> tuple[Any, Any]:
        """((image, local patch) of stage 2's completion, the same of the ground truth)."""
        return (stages["stage2"][1], stages["stage2"][2]), (gt, stages["gt_local"])


__all__ = ["DeepFillv1Inpaintor"]
