"""``GGAN``: MMagic's Geometric GAN (Lim & Ye 2017) — hinge loss on DCGAN or LSGAN networks.

Discriminator: ``mean(relu(1 + D(fake))) + mean(relu(1 − D(real)))``; generator: ``−mean(D(G(z)))``.
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from ..dcgan import DCGAN
from ..lsgan.model import NETWORK_TYPES


class GGAN(DCGAN):
    GENERATOR_TYPES = NETWORK_TYPES["generator"]
    DISCRIMINATOR_TYPES = NETWORK_TYPES["discriminator"]
    MGX_FORM = False

    def _disc_loss_terms(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        fake_logits, real_logits = self.discriminator(fake).float(), self.discriminator(real).float()
        return {"loss_disc_fake": F.relu(1 + fake_logits).mean(), "loss_disc_real": F.relu(1 - real_logits).mean()}

    def _gen_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return -fake_logits.float().mean()


__all__ = ["GGAN"]
