"""``GANLoss`` with MMagic's name and arguments: the adversarial loss on discriminator outputs."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError


GAN_TYPES = ("vanilla", "lsgan", "wgan", "hinge", "l1")


class GANLoss(nn.Module):
    """Adversarial loss on discriminator outputs.

    - ``vanilla``: BCE with logits against the real/fake label;
    - ``lsgan``: mean squared error against the label;
    - ``wgan``: −mean(x) for real targets, mean(x) for fake;
    - ``hinge``: discriminator mean(relu(1 − x)) real / mean(relu(1 + x)) fake, generator −mean(x);
    - ``l1``: mean |x − label|.

    ``loss_weight`` multiplies only the generator's loss (``is_disc=False``), as in MMagic.
    """

    def __init__(self, gan_type: str, real_label_val: float = 1.0, fake_label_val: float = 0.0,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if gan_type not in GAN_TYPES:
            hint = " ('smgan' needs a mask and is only used by inpainting models)" if gan_type == "smgan" else ""
            raise ConfigError(f"GANLoss: gan_type must be one of {GAN_TYPES}, got {gan_type!r}{hint}")
        self.gan_type = gan_type
        self.real_label_val, self.fake_label_val = float(real_label_val), float(fake_label_val)
        self.loss_weight = float(loss_weight)

    def forward(self, input: torch.Tensor, target_is_real: bool, is_disc: bool = False) -> torch.Tensor:
        x = input.float() if input.dtype in (torch.float16, torch.bfloat16) else input  # AMP logits in fp32
        label = self.real_label_val if target_is_real else self.fake_label_val
        if self.gan_type == "vanilla":
            loss = F.binary_cross_entropy_with_logits(x, torch.full_like(x, label))
        elif self.gan_type == "lsgan":
            loss = F.mse_loss(x, torch.full_like(x, label))
        elif self.gan_type == "l1":
            loss = F.l1_loss(x, torch.full_like(x, label))
        elif self.gan_type == "wgan":
            loss = -x.mean() if target_is_real else x.mean()
        elif is_disc:  # hinge
            loss = F.relu(1.0 - x).mean() if target_is_real else F.relu(1.0 + x).mean()
        else:
            loss = -x.mean()
        return loss if is_disc else loss * self.loss_weight

