"""``WGANGP``: MMagic's Wasserstein GAN with gradient penalty (Gulrajani et al. 2017).

Discriminator: ``mean(D(fake)) − mean(D(real)) + loss_weight · GP`` (``losses/gradient_penalty.py``,
``norm_mode`` default ``'HWC'``); generator: ``−mean(D(G(z)))``. MMagic reads ``loss_config.loss_weight``
(default 10) and ``loss_config.norm_mode``; its configs write ``gp_loss_weight`` / ``gp_norm_mode``,
which MMagic 1.2.0 does not read — mgx does the same (so the published GP-50 model was trained with
weight 10) and says so in a warning.
"""
from __future__ import annotations

import logging

import torch

from mgx.core.errors import ConfigError

from ..dcgan import DCGAN
from ..losses.gradient_penalty import NORM_MODES, gradient_penalty_loss

_READ = ("loss_weight", "norm_mode")
_UNREAD = ("gp_loss_weight", "gp_norm_mode")


class WGANGP(DCGAN):
    GENERATOR_TYPES = ("WGANGPGenerator",)
    DISCRIMINATOR_TYPES = ("WGANGPDiscriminator",)
    MGX_FORM = False

    def _check_loss_config(self, loss_config: dict | None) -> None:
        config = dict(loss_config or {})
        unknown = sorted(set(config) - set(_READ) - set(_UNREAD))
        if unknown:
            raise ConfigError(f"WGANGP: loss_config takes {_READ} (MMagic's keys), got unknown {unknown}")
        unread = sorted(set(config) & set(_UNREAD))
        if unread:
            logging.getLogger("mgx").warning(
                "WGANGP: loss_config %s are not read (as in MMagic 1.2.0, which reads loss_weight and norm_mode): "
                "the gradient penalty uses loss_weight=%s, norm_mode=%r", unread, config.get("loss_weight", 10),
                config.get("norm_mode", "HWC"))
        self.gp_norm_mode, self.gp_loss_weight = config.get("norm_mode", "HWC"), float(config.get("loss_weight", 10))
        if self.gp_norm_mode not in NORM_MODES:
            raise ConfigError(f"WGANGP: loss_config.norm_mode must be one of {NORM_MODES}, got {self.gp_norm_mode!r}")

    def _disc_loss_terms(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        fake_logits, real_logits = self.discriminator(fake).float(), self.discriminator(real).float()
        penalty = gradient_penalty_loss(self.discriminator, real, fake, norm_mode=self.gp_norm_mode)
        return {"loss_disc_fake": fake_logits.mean(), "loss_disc_real": -real_logits.mean(),
                "loss_gp": self.gp_loss_weight * penalty.float()}

    def _gen_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return -fake_logits.float().mean()


__all__ = ["WGANGP"]
