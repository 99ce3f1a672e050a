"""``ESRGAN`` (MMagic's name and arguments): SRGAN's schedule with the relativistic average GAN."""
from __future__ import annotations

import torch

from ..srgan.srgan import SRGAN


class ESRGAN(SRGAN):
    """SRGAN with the relativistic average discriminator (RaGAN) of Wang et al. 2018.

    Generator:     ½ [gan(D(fake) − mean D(real), real) + gan(D(real) − mean D(fake), fake)]
    Discriminator: ½ gan(D(real) − mean D(fake), real) + ½ gan(D(fake) − mean D(real), fake),
    the other side's mean detached. (MMagic runs D on the fakes twice per update; the
    losses and gradients are the same with one pass, only BatchNorm's running
    statistics, unused in training mode, see one fewer batch.)
    """

    def adversarial_loss(self, output: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        real_pred = self.discriminator(gt).detach()
        fake_pred = self.discriminator(output)
        loss_fake = self.gan_loss(fake_pred - real_pred.mean(), target_is_real=True, is_disc=False)
        loss_real = self.gan_loss(real_pred - fake_pred.mean(), target_is_real=False, is_disc=False)
        return (loss_fake + loss_real) / 2

    def discriminator_losses(self, fake: torch.Tensor, gt: torch.Tensor) -> dict[str, torch.Tensor]:
        real_pred, fake_pred = self.discriminator(gt), self.discriminator(fake)
        return {"loss_d_real": self.gan_loss(real_pred - fake_pred.detach().mean(), True, is_disc=True) * 0.5,
                "loss_d_fake": self.gan_loss(fake_pred - real_pred.detach().mean(), False, is_disc=True) * 0.5}
