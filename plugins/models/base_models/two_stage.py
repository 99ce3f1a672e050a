"""``TwoStageInpaintor`` (MMagic's name and arguments): a coarse-to-fine encoder-decoder (DeepFill's),
whose generator returns (stage-1 output, stage-2 output); each stage's losses are listed by name in
``stage1_loss_type`` / ``stage2_loss_type`` (``loss_l1_hole``, ``loss_l1_valid``, ``loss_gan``,
``loss_composed_percep``/``loss_out_percep``, ``loss_tv``) and logged with the stage as prefix
(``stage1_loss_l1_hole``...). The input is ``cat(masked, ones, mask)`` (``input_with_ones``, DeepFill's
5 channels) or ``cat(masked, mask)``; with ``disc_input_with_mask`` the discriminator sees
``cat(image, mask)``. The prediction is stage 2's, pasted into the hole."""
from __future__ import annotations

from typing import Any, Sequence

import torch

from mgx.core.errors import ConfigError

from .one_stage import OneStageInpaintor, detached_sum, named_optim, set_requires_grad

LOSS_TYPES = ("loss_gan", "loss_l1_hole", "loss_l1_valid", "loss_composed_percep", "loss_out_percep", "loss_tv")


class TwoStageInpaintor(OneStageInpaintor):
    """See the module docstring; the other arguments are OneStageInpaintor's."""

    def __init__(self, data_preprocessor: dict, encdec: dict, disc: dict | None = None, *,
                 stage1_loss_type: Sequence[str] | None = ("loss_l1_hole",),
                 stage2_loss_type: Sequence[str] | None = ("loss_l1_hole", "loss_gan"), input_with_ones: bool = True,
                 disc_input_with_mask: bool = False, **kwargs: Any) -> None:
        super().__init__(data_preprocessor, encdec, disc, **kwargs)
        who = type(self).__name__
        self.stage1_loss_type = tuple(stage1_loss_type or ())
        self.stage2_loss_type = tuple(stage2_loss_type or ())
        for field, names in (("stage1_loss_type", self.stage1_loss_type), ("stage2_loss_type", self.stage2_loss_type)):
            for name in names:
                if name not in LOSS_TYPES:
                    raise ConfigError(f"{who}: {field} names {name!r}; the loss types are {LOSS_TYPES}")
                configured = self.with_gan if name == "loss_gan" else \
                    self.loss_percep is not None if "percep" in name else getattr(self, name) is not None
                if not configured:
                    raise ConfigError(f"{who}: {field} names {name!r} but the model has no such loss configured")
        self.input_with_ones, self.disc_input_with_mask = bool(input_with_ones), bool(disc_input_with_mask)
        if self.disc_input_with_mask and self.loss_gp is not None:
            raise ConfigError(f"{who}: loss_gp does not work with disc_input_with_mask=True (as in MMagic)")

    def generate(self, masked: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        parts = [masked, torch.ones_like(mask), mask] if self.input_with_ones else [masked, mask]
        stage1, stage2 = self.generator(torch.cat(parts, dim=1))[:2]
        return stage1, stage2

    def run_generator(self, masked: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.generate(masked, mask)[1]

    def disc_input(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.cat([image, mask], dim=1) if self.disc_input_with_mask else image

    def generator_gan_loss(self, fake_img: torch.Tensor, mask: torch.Tensor, fake_local: Any) -> torch.Tensor:
        return self.loss_gan(self.disc(self.disc_input(fake_img, mask)), True, is_disc=False)

    def loss_with_type(self, loss_type: str, fake_res, fake_img, gt, mask, prefix: str,
                       fake_local: Any = None) -> dict[str, torch.Tensor]:
        """One named loss of one stage (MMagic's ``calculate_loss_with_type``)."""
        if loss_type == "loss_gan":
            return {f"{prefix}loss_g_fake": self.generator_gan_loss(fake_img, mask, fake_local)}
        if "percep" in loss_type:
            percep, style = self.loss_percep(fake_img, gt)
            named = {f"{prefix}{loss_type}": percep, f"{prefix}{loss_type[:-6]}style": style}
            return {name: value for name, value in named.items() if value is not None}
        if loss_type == "loss_tv":
            return {f"{prefix}loss_tv": self.loss_tv(fake_img, mask=mask)}
        weight = 1.0 - mask if "valid" in loss_type else mask
        return {f"{prefix}{loss_type}": getattr(self, loss_type)(fake_res, gt, weight=weight)}

    def two_stage_loss(self, stages: dict, gt: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        losses: dict[str, torch.Tensor] = {}
        for stage, names in (("stage1", self.stage1_loss_type), ("stage2", self.stage2_loss_type)):  # (res, img, local)
            fake_res, fake_img, fake_local = stages[stage]
            for name in names:
                losses.update(self.loss_with_type(name, fake_res, fake_img, gt, mask, f"{stage}_", fake_local))
        return losses

    def train_step(self, batch: dict, optim) -> dict[str, torch.Tensor]:
        masked, mask, gt = self.batch_tensors(batch, f"{type(self).__name__}.train_step")
        gen_optim = named_optim(optim, "generator")
        with gen_optim.optim_context(self.generator):
            stage1_res, stage2_res = self.generate(masked, mask)
        stages = {name: (res, masked * (1.0 - mask) + res * mask, None)
                  for name, res in (("stage1", stage1_res), ("stage2", stage2_res))}
        return self.update_networks(batch, optim, stages, gt, mask)

    def update_networks(self, batch: dict, optim, stages: dict, gt, mask) -> dict[str, torch.Tensor]:
        """The discriminator's update (every iteration with ``disc_step > 0``), then the generator's
        (every ``disc_step``-th)."""
        logged: dict[str, torch.Tensor] = {}
        if self.disc_step > 0 and self.with_gan:
            fake, real = self.disc_pair(stages, gt, mask)
            logged, generator_due = self.discriminator_step(optim, fake, real, mask)
            if not generator_due:
                return logged
        gen_optim = named_optim(optim, "generator")
        set_requires_grad(self.disc, False)
        try:
            with gen_optim.optim_context(self.generator):
                total, generator_logged = detached_sum(self.two_stage_loss(stages, gt, mask))
            gen_optim.update_params(total)
        finally:
            set_requires_grad(self.disc, True)
        logged.update(generator_logged)
        return logged

    def disc_pair(self, stages: dict, gt: torch.Tensor, mask: torch.Tensor) -> tuple[Any, Any]:
        """(fake, real) as the discriminator takes them: stage 2's completion and the ground truth."""
        return self.disc_input(stages["stage2"][1], mask), self.disc_input(gt, mask)


__all__ = ["TwoStageInpaintor"]
