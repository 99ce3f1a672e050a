"""``GANLoss`` with MMagic's name and arguments: the adversarial loss on discriminator outputs."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError


GAN_TYPES = ("vanilla", "lsgan", "wgan", "hinge", "l1", "smgan")


def gaussian_blur(x: torch.Tensor, kernel_size: int = 71, sigma: float = 10.0) -> torch.Tensor:
    """Each channel convolved with a normalised ``kernel_size``² Gaussian (std ``sigma``), zero padding to
    the same size: MMagic's ``GaussianBlur`` defaults, which turn a hole mask into ``smgan``'s soft label."""
    offsets = torch.arange(kernel_size, dtype=torch.float64) - kernel_size // 2
    line = torch.exp(-offsets ** 2 / (2 * sigma ** 2))
    line = line / line.sum()
    kernel = torch.outer(line, line).to(x)[None, None].repeat(x.shape[1], 1, 1, 1)
    return F.conv2d(x, kernel, padding=kernel_size // 2, groups=x.shape[1])


class GANLoss(nn.Module):
    """Adversarial loss on discriminator outputs.

    - ``vanilla``: BCE with logits against the real/fake label;
    - ``lsgan``: mean squared error against the label;
    - ``wgan``: −mean(x) for real targets, mean(x) for fake;
    - ``hinge``: discriminator mean(relu(1 − x)) real / mean(relu(1 + x)) fake, generator −mean(x);
    - ``l1``: mean |x − label|;
    - ``smgan`` (AOT-GAN's soft-mask GAN, needs ``mask``, N×1×H×W, 1 in the hole): the scores, resized
      bilinearly to the mask's size, against 1 for real and against the Gaussian-blurred mask for fake in the
      discriminator's loss (mean squared error); the generator's is the mean squared error against 1
      (MMagic weighs it by ``mask / mean(mask)`` after averaging, which leaves the value unchanged).

    ``loss_weight`` multiplies only the generator's loss (``is_disc=False``), as in MMagic.
    """

    def __init__(self, gan_type: str, real_label_val: float = 1.0, fake_label_val: float = 0.0,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if gan_type not in GAN_TYPES:
            raise ConfigError(f"GANLoss: gan_type must be one of {GAN_TYPES}, got {gan_type!r}")
        self.gan_type = gan_type
        self.real_label_val, self.fake_label_val = float(real_label_val), float(fake_label_val)
        self.loss_weight = float(loss_weight)

    def forward(self, input: torch.Tensor, target_is_real: bool, is_disc: bool = False,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        x = input.float() if input.dtype in (torch.float16, torch.bfloat16) else input  # AMP logits in fp32
        label = self.real_label_val if target_is_real else self.fake_label_val
        if self.gan_type == "smgan":
            loss = self.soft_mask_loss(x, label, target_is_real, is_disc, mask)
        elif self.gan_type == "vanilla":
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

    def soft_mask_loss(self, x: torch.Tensor, label: float, target_is_real: bool, is_disc: bool,
                       mask: torch.Tensor | None) -> torch.Tensor:
        """``smgan`` (class docstring)."""
        if not isinstance(mask, torch.Tensor) or mask.dim() != 4:
            raise ValueError("GANLoss(gan_type='smgan') needs mask=N×1×H×W (the hole mask); AOTInpaintor passes it")
        mask = mask.to(x)
        if x.shape[-2:] != mask.shape[-2:]:
            x = F.interpolate(x, size=mask.shape[-2:], mode="bilinear", align_corners=True)
        if is_disc:
            target = torch.full_like(x, label) if target_is_real else gaussian_blur(mask).detach()
            return F.mse_loss(x, target)
        return (F.mse_loss(x, torch.full_like(x, label)) * mask / mask.mean()).mean()
