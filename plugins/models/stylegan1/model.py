"""``StyleGANv1`` (aliases ``StyleGAN1``, ``StyleGANV1``): MMagic's StyleGAN v1, trained with
``ProgressiveGrowingGAN``'s schedule, per-scale optimizers and EMA (``pggan/model.py``) and its own losses:

* discriminator: ``mean softplus(D(fake)) + mean softplus(−D(real)) + 10 · E‖∇ₓD(x)‖²`` (R1 on the reals,
  squared norm over C, H, W);
* generator: ``−mean D(G(z))`` (as MMagic 1.2.0 writes it, not the non-saturating softplus).

As in MMagic, training passes one latent per sample to the generator, so it is never style-mixed
(mixing happens only when the generator draws its own latents).
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from mgx.core.errors import ConfigError

from ..pggan.model import ProgressiveGrowingGAN


class StyleGAN1(ProgressiveGrowingGAN):
    GENERATOR_TYPES = ("StyleGANv1Generator", "StyleGAN1Generator")
    DISCRIMINATOR_TYPES = ("StyleGAN1Discriminator", "StyleGANv1Discriminator")

    def __init__(self, generator: dict, discriminator: dict, data_preprocessor: dict | None = None,
                 style_channels: int = 512, nkimgs_per_scale: dict | None = None, interp_real: dict | None = None,
                 transition_kimgs: float = 600, prev_stage: int = 0, ema_config: dict | None = None) -> None:
        self._style_channels = style_channels
        super().__init__(generator, discriminator, nkimgs_per_scale, data_preprocessor=data_preprocessor,
                         interp_real=interp_real, transition_kimgs=transition_kimgs, prev_stage=prev_stage,
                         ema_config=ema_config)

    def _fill_generator_config(self, generator: dict, noise_size, who: str) -> None:
        given = generator.get("style_channels")
        if self._style_channels is not None and given is not None and given != self._style_channels:
            raise ConfigError(f"{who}: style_channels={self._style_channels!r} but generator.style_channels="
                              f"{given!r}; give one, or the same value")
        generator.setdefault("style_channels", self._style_channels)

    def disc_loss_terms(self, real: torch.Tensor, fake: torch.Tensor, scale: int) -> dict[str, torch.Tensor]:
        at = self._networks_at(scale)
        pred_fake, pred_real = self.discriminator(fake, **at).float(), self.discriminator(real, **at).float()
        real_input = real.detach().clone().requires_grad_(True)
        pred = self.discriminator(real_input, **at)
        (grad,) = torch.autograd.grad(pred, real_input, torch.ones_like(pred), create_graph=True)
        penalty = grad.float().square().reshape(real.shape[0], -1).sum(1).mean()
        return {"loss_disc_fake": F.softplus(pred_fake).mean(), "loss_disc_real": F.softplus(-pred_real).mean(),
                "loss_r1_gp": 10 * penalty}


__all__ = ["StyleGAN1"]
