"""``LSGAN``: MMagic's least-squares GAN (its DCGAN-architecture configs and its own LSGAN networks).

Discriminator: ``MSE(D(fake), 0) + MSE(D(real), 1)``; generator: ``MSE(D(G(z)), 1)``; the rest
(schedule, sampling, checkpoints) is MMagic's form of :class:`DCGAN`.
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from ..dcgan import DCGAN

NETWORK_TYPES = dict(generator=("DCGANGenerator", "LSGANGenerator"),
                     discriminator=("DCGANDiscriminator", "LSGANDiscriminator"))


class LSGAN(DCGAN):
    GENERATOR_TYPES = NETWORK_TYPES["generator"]
    DISCRIMINATOR_TYPES = NETWORK_TYPES["discriminator"]
    MGX_FORM = False

    def _disc_loss_terms(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        fake_logits, real_logits = self.discriminator(fake).float(), self.discriminator(real).float()
        return {"loss_disc_fake": F.mse_loss(fake_logits, torch.zeros_like(fake_logits)),
                "loss_disc_real": F.mse_loss(real_logits, torch.ones_like(real_logits))}

    def _gen_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        fake_logits = fake_logits.float()
        return F.mse_loss(fake_logits, torch.ones_like(fake_logits))


__all__ = ["LSGAN", "NETWORK_TYPES"]
