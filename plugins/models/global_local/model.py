"""``GLInpaintor`` (MMagic's name, arguments and schedule): Global&Local's three training phases.

With ``train_cfg=dict(iter_tc=T_C, iter_td=T_D, disc_step, local_size, start_iter)`` and ``i`` the
inpaintor's own iteration count (the ``cur_iter`` buffer, from ``start_iter``; it survives ``--resume``):

- ``i ≤ T_C``: the generator learns with the L1 losses alone;
- ``T_C < i ≤ T_D``: only the discriminators learn;
- ``i > T_D``: both, the generator's loss adding the adversarial term.

The discriminators see the whole image and a ``local_size`` patch centred on the hole's box
(``batch['mask_bbox']``, which ``LoadMask(mask_mode='bbox')`` makes), shifted to stay inside the image.
"""
from __future__ import annotations

from typing import Any

import torch

from mgx.core.errors import ConfigError, MgxError

from ..base_models.one_stage import OneStageInpaintor, detached_sum, named_optim, set_requires_grad


def mask_boxes(batch: dict, who: str) -> torch.Tensor:
    """``batch['mask_bbox']`` as an N×4 long tensor of (top, left, height, width)."""
    boxes = batch.get("mask_bbox") if isinstance(batch, dict) else None
    if isinstance(boxes, (list, tuple)) and len(boxes) == 4:  # default_collate of 4-tuples: 4 tensors of N
        boxes = torch.stack([torch.as_tensor(value) for value in boxes], dim=1)
    if not isinstance(boxes, torch.Tensor) or boxes.dim() != 2 or boxes.shape[1] != 4:
        raise MgxError(f"{who} needs batch['mask_bbox'] (top, left, height, width) per sample: use "
                       "LoadMask(mask_mode='bbox')")
    return boxes.long()


def local_patches(images: torch.Tensor, boxes: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``size`` patches around each box: the box enlarged about its centre (MMagic's ``scale_bbox``),
    its top-left kept ≥ 0 and, where the image ends, moved back inside it."""
    height, width = size
    patches = []
    for image, (top, left, box_h, box_w) in zip(images, boxes.tolist()):
        if box_h > height or box_w > width:
            raise MgxError(f"GLInpaintor: a mask box of {box_h}×{box_w} is larger than train_cfg.local_size {size}")
        top = min(max(0, top - (height - box_h) // 2), image.shape[-2] - height)
        left = min(max(0, left - (width - box_w) // 2), image.shape[-1] - width)
        patches.append(image[:, top:top + height, left:left + width])
    return torch.stack(patches)


class GLInpaintor(OneStageInpaintor):
    """Global&Local inpainting (module docstring)."""

    TRAIN_KEYS = frozenset({"disc_step", "start_iter", "iter_tc", "iter_td", "local_size"})

    def __init__(self, data_preprocessor: dict, encdec: dict, disc: dict | None = None, **kwargs: Any) -> None:
        super().__init__(data_preprocessor, encdec, disc, **kwargs)
        cfg = self.train_cfg
        self.iter_tc, self.iter_td = int(cfg.get("iter_tc", 0)), int(cfg.get("iter_td", 0))
        local_size = cfg.get("local_size", (128, 128))
        if not (isinstance(local_size, (list, tuple)) and len(local_size) == 2
                and all(isinstance(v, int) and v > 0 for v in local_size)):
            raise ConfigError(f"GLInpaintor: model.train_cfg.local_size must be (height, width), got {local_size!r}")
        self.local_size = tuple(local_size)
        self.register_buffer("cur_iter", torch.tensor(int(cfg.get("start_iter", 0)), dtype=torch.long))

    def generator_loss(self, fake_res, fake_img, gt, mask, fake_local=None,
                       adversarial: bool = False) -> dict[str, torch.Tensor]:
        """L1 in the hole and outside it; with ``adversarial`` (after ``iter_td``) the discriminators' term."""
        losses: dict[str, torch.Tensor] = {}
        if self.with_gan and adversarial:
            losses["loss_g_fake"] = self.loss_gan(self.disc((fake_img, fake_local)), True, False)
        if self.loss_l1_hole is not None:
            losses["loss_l1_hole"] = self.loss_l1_hole(fake_res, gt, weight=mask)
        if self.loss_l1_valid is not None:
            losses["loss_l1_valid"] = self.loss_l1_valid(fake_res, gt, weight=1.0 - mask)
        return losses

    def train_step(self, batch: dict, optim) -> dict[str, torch.Tensor]:
        who = f"{type(self).__name__}.train_step"
        masked, mask, gt = self.batch_tensors(batch, who)
        boxes = mask_boxes(batch, who)
        gen_optim = named_optim(optim, "generator")
        with gen_optim.optim_context(self.generator):
            fake_res = self.run_generator(masked, mask)
        fake_img = gt * (1.0 - mask) + fake_res * mask
        fake_local = local_patches(fake_img, boxes, self.local_size)
        gt_local = local_patches(gt, boxes, self.local_size)
        iteration = int(self.cur_iter)
        self.cur_iter += 1
        logged: dict[str, torch.Tensor] = {}
        if self.disc_step > 0 and iteration > self.iter_tc:
            logged, generator_due = self.discriminator_step(optim, (fake_img, fake_local), (gt, gt_local), None)
            if not generator_due or iteration <= self.iter_td:
                return logged
        if iteration <= self.iter_tc or iteration > self.iter_td:
            set_requires_grad(self.disc, False)
            try:
                with gen_optim.optim_context(self.generator):
                    losses = self.generator_loss(fake_res, fake_img, gt, mask, fake_local,
                                                 adversarial=iteration > self.iter_td)
                total, generator_logged = detached_sum(losses)
                gen_optim.update_params(total)
            finally:
                set_requires_grad(self.disc, True)
            logged.update(generator_logged)
        return logged

__all__ = ["GLInpaintor", "local_patches", "mask_boxes"]
