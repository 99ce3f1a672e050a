"""``Pix2Pix`` (Isola et al. 2017): paired image-to-image translation, as MMagic 1.2.0 trains it.

Each iteration: the generator of ``default_domain`` translates the source image; the
discriminator (conditioned on the source: 6 channels in) takes
``0.5 · (BCE(D(src, fake), 0) + BCE(D(src, real), 1))``; then (see
``BaseTranslationModel.generator_phase_due``) the generator takes
``BCE(D(src, fake), 1) + pixel_loss_weight · L1(real, fake)`` (``loss_config.pixel_loss_weight``,
default 100). Optimizers are named ``generators`` and ``discriminators`` (MMagic's configs).
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from mgx.core.errors import ConfigError

from ..base_models import BaseTranslationModel
from ..common import frozen


class Pix2Pix(BaseTranslationModel):
    GENERATOR_TYPES = ("UnetGenerator",)
    DISCRIMINATOR_TYPES = ("PatchDiscriminator",)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        unknown = sorted(set(self.loss_config) - {"pixel_loss_weight"})
        if unknown:
            raise ConfigError(f"Pix2Pix: loss_config takes only pixel_loss_weight, got {unknown}")
        self.pixel_loss_weight = float(self.loss_config.get("pixel_loss_weight", 100))
        self.target_domain = self._default_domain
        self.source_domain = self.source_of(self.target_domain)

    def _disc_logits(self, source: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        return self.discriminators(self.target_domain, torch.cat((source, image), 1)).float()

    def train_step(self, batch: dict, optim) -> dict[str, torch.Tensor]:
        source = self.domain_images(batch, self.source_domain)
        target = self.domain_images(batch, self.target_domain)
        generator_phase = self.generator_phase_due(optim)
        disc_optim, gen_optim = optim["discriminators"], optim["generators"]
        with disc_optim.optim_context(self.discriminators):
            with torch.set_grad_enabled(generator_phase):
                fake = self.generators(self.target_domain, source)
            fake_logits = self._disc_logits(source, fake.detach())
            loss_fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
            real_logits = self._disc_logits(source, target)
            loss_real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            loss_disc = 0.5 * (loss_fake + loss_real)
        disc_optim.update_params(loss_disc)
        losses = dict(loss_gan_d_fake=loss_fake.detach(), loss_gan_d_real=loss_real.detach())
        if not generator_phase:
            return losses
        with frozen(self.discriminators):
            with gen_optim.optim_context(self.generators):
                fake_logits = self._disc_logits(source, fake)
                loss_gan = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
                loss_pixel = self.pixel_loss_weight * F.l1_loss(target.float(), fake.float())
            gen_optim.update_params(loss_gan + loss_pixel)
        losses.update(loss_gan_g=loss_gan.detach(), loss_pixel=loss_pixel.detach())
        return losses

    def val_step(self, batch: dict) -> dict[str, torch.Tensor]:
        """``{f'fake_{target}': translations of the batch's source images}`` in [0, 255] (MMagic's key)."""
        source = self.domain_images(batch, self.source_domain)
        return {f"fake_{self.target_domain}": self.to_pixels(self.translate_for_test(source, self.target_domain))}

    def grid_columns(self, batch: dict, outputs: dict) -> list[torch.Tensor]:
        """Sample-grid columns: source / translation / target, in [0, 255]."""
        return [self.to_pixels(self.domain_images(batch, self.source_domain)), outputs[f"fake_{self.target_domain}"],
                self.to_pixels(self.domain_images(batch, self.target_domain))]

    def adapt_loaded_weights(self, weights: dict) -> dict:
        """MMagic checkpoints: the same keys; ``data_preprocessor.*`` (mean/std) come from the config."""
        return {key: value for key, value in weights.items() if not key.startswith("data_preprocessor.")}


__all__ = ["Pix2Pix"]
