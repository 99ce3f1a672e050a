"""``AOTInpaintor`` (MMagic 1.2.0's name, arguments and training step): OneStageInpaintor with AOT-GAN's
differences.

- The generator sees ``cat(masked + mask, mask)``: the masked image (hole at 127.5, so 0 after MMagic's
  [-1, 1] normalisation) with 1 added in the hole.
- Each iteration (``disc_step=1``) updates the ``SoftMaskPatchDiscriminator`` first, on the real image and
  the detached completion, with the ``smgan`` loss given the hole mask (real and fake summed, logged as
  ``disc_losses``), then the generator: ``loss_g_fake`` (smgan, masked), ``loss_l1_valid`` (L1 over the whole
  image, unweighted), and ``loss_out_percep`` / ``loss_out_style`` (perceptual and style of the direct
  output) when ``loss_out_percep=True``.
"""
from __future__ import annotations

import torch

from ..base_models.one_stage import OneStageInpaintor


class AOTInpaintor(OneStageInpaintor):
    """AOT-GAN inpainting (module docstring)."""

    def run_generator(self, masked: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.generator(torch.cat([masked + mask, mask], dim=1))

    def discriminator_losses(self, fake_img: torch.Tensor, gt: torch.Tensor,
                             mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """The critic's smgan losses on real and (detached) fake, summed as MMagic's ``disc_losses``."""
        return {"disc_losses": self.loss_gan(self.disc(gt), True, True, mask=mask)
                + self.loss_gan(self.disc(fake_img.detach()), False, True, mask=mask)}

    def generator_loss(self, fake_res: torch.Tensor, fake_img: torch.Tensor, gt: torch.Tensor,
                       mask: torch.Tensor) -> dict[str, torch.Tensor]:
        losses: dict[str, torch.Tensor] = {}
        if self.with_gan:
            losses["loss_g_fake"] = self.loss_gan(self.disc(fake_img), True, False, mask=mask)
        if self.loss_l1_valid is not None:
            losses["loss_l1_valid"] = self.loss_l1_valid(fake_res, gt)
        if self.with_out_percep_loss:
            percep, style = self.loss_percep(fake_res, gt)
            if percep is not None:
                losses["loss_out_percep"] = percep
            if style is not None:
                losses["loss_out_style"] = style
        return losses


__all__ = ["AOTInpaintor"]
