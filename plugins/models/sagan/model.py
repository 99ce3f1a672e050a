"""``SAGAN`` (registered also as ``SNGAN``): MMagic's model for SNGAN-Proj (Miyato & Koyama 2018) and
SAGAN (Zhang et al. 2019): hinge losses on a projection discriminator,

    L_D = mean(relu(1 + D(G(z, y'), y'))) + mean(relu(1 − D(x, y))),   L_G = −mean(D(G(z, y'), y')),

the schedule and sampling of :class:`BaseConditionalGAN`.
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from ..base_models.base_conditional_gan import BaseConditionalGAN


class SAGAN(BaseConditionalGAN):
    GENERATOR_TYPES = ("SNGANGenerator", "SAGANGenerator")
    DISCRIMINATOR_TYPES = ("ProjDiscriminator", "SAGANDiscriminator")

    def __init__(self, generator: dict, discriminator: dict | None = None, data_preprocessor: dict | None = None,
                 generator_steps: int = 1, discriminator_steps: int = 1, noise_size: int | None = 128,
                 num_classes: int | None = None, ema_config: dict | None = None) -> None:
        # MMagic's default noise_size=128 is the generator's default too; a config's generator value wins
        if isinstance(generator, dict) and noise_size == 128:
            noise_size = generator.get("noise_size", noise_size)
        super().__init__(generator, discriminator, data_preprocessor, generator_steps, discriminator_steps,
                         noise_size, num_classes, ema_config)

    def disc_loss_terms(self, pred_fake: torch.Tensor, pred_real: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loss_disc_fake": F.relu(1 + pred_fake).mean(), "loss_disc_real": F.relu(1 - pred_real).mean()}

    def gen_loss(self, pred_fake: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loss_gen": -pred_fake.mean()}


class SNGAN(SAGAN):
    """MMagic registers SAGAN under this name as well (the sngan_proj configs use it)."""


__all__ = ["SAGAN", "SNGAN"]
