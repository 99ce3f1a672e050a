"""``AdvLoss`` (MMagic's name; DeblurGANv2's adversarial losses). ``AdvLoss(loss_type)`` builds the
criterion ``loss_type`` names; each is called as ``loss(net, fake, real, model='discriminator'|'generator')``
and runs the discriminator ``net`` itself:

- 'gan': BCE-with-logits, D: ½(BCE(D(fake), 0) + BCE(D(real), 1)), G: BCE(D(fake), 1);
- 'lsgan': the same with L1 distance to the 0/1 targets (MMagic's ``GANLoss('l1')``);
- 'wgan-gp': D: mean D(fake) − mean D(real) + 10 · gradient penalty, G: −mean D(fake);
- 'ragan' (relativistic average, BCE) and 'ragan-ls' (least squares): each prediction is compared
  with the mean of the other side's last predictions, kept in a pool of up to 50 per side, as
  MMagic's ``ImagePool`` keeps them (filled by the discriminator's call, read by both).
  'ragan-ls' D: ½(mean((D(real) − m_fake − 1)²) + mean((D(fake) − m_real + 1)²)), G: the signs swapped.
"""
from __future__ import annotations

from collections import deque

import torch
import torch.nn.functional as F
from torch import nn

from mgx.core.errors import ConfigError

from .gradient_penalty import gradient_penalty_loss

LOSS_TYPES = ("wgan-gp", "lsgan", "gan", "ragan", "ragan-ls")


class PredictionPool:
    """The last ``size`` per-image discriminator outputs (detached); ``mean()`` over all of them."""

    def __init__(self, size: int = 50) -> None:
        self.items: deque = deque(maxlen=size)

    def add(self, predictions: torch.Tensor) -> None:
        self.items.extend(p[None] for p in predictions.detach())

    def mean(self) -> torch.Tensor:
        if not self.items:
            raise RuntimeError("AdvLoss: the generator's relativistic loss needs a discriminator step first")
        return torch.cat(list(self.items)).mean()


def _target_loss(kind: str, prediction: torch.Tensor, real: bool) -> torch.Tensor:
    target = torch.full_like(prediction, 1.0 if real else 0.0)
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(prediction, target)
    return F.l1_loss(prediction, target)


class DiscLoss(nn.Module):
    def __init__(self, kind: str = "bce") -> None:
        super().__init__()
        self.kind = kind

    def forward(self, net, fake: torch.Tensor, real: torch.Tensor, model: str = "discriminator") -> torch.Tensor:
        if model == "discriminator":
            return (_target_loss(self.kind, net(fake.detach()), False) + _target_loss(self.kind, net(real), True)) * 0.5
        return _target_loss(self.kind, net(fake), True)


class DiscLossWGANGP(nn.Module):
    LAMBDA = 10.0

    def forward(self, net, fake: torch.Tensor, real: torch.Tensor, model: str = "discriminator") -> torch.Tensor:
        if model == "discriminator":
            critic = net(fake.detach()).mean() - net(real).mean()
            return critic + gradient_penalty_loss(net, real.detach(), fake.detach()) * self.LAMBDA
        return -net(fake).mean()


class RelativisticDiscLoss(nn.Module):
    """Relativistic average loss; ``least_squares`` selects 'ragan-ls' over 'ragan'."""

    def __init__(self, least_squares: bool) -> None:
        super().__init__()
        self.least_squares = least_squares
        self.fake_pool, self.real_pool = PredictionPool(50), PredictionPool(50)

    def _pair(self, pred_real, pred_fake, real_label: float) -> torch.Tensor:
        """Loss of (pred_real − mean fake) towards ``real_label`` and (pred_fake − mean real) towards its opposite."""
        rel_real, rel_fake = pred_real - self.fake_pool.mean(), pred_fake - self.real_pool.mean()
        if self.least_squares:
            return (torch.mean((rel_real - real_label) ** 2) + torch.mean((rel_fake + real_label) ** 2)) / 2
        first_real = real_label > 0
        return (_target_loss("bce", rel_real, first_real) + _target_loss("bce", rel_fake, not first_real)) / 2

    def forward(self, net, fake: torch.Tensor, real: torch.Tensor, model: str = "discriminator") -> torch.Tensor:
        if model == "discriminator":
            pred_fake = net(fake.detach())
            self.fake_pool.add(pred_fake)
            pred_real = net(real)
            self.real_pool.add(pred_real)
            return self._pair(pred_real, pred_fake, 1.0)
        pred_fake, pred_real = net(fake), net(real)
        return self._pair(pred_real, pred_fake, -1.0)


class AdvLoss:
    """Builds the adversarial criterion ``loss_type`` names (see the module docstring)."""

    def __new__(cls, loss_type: str) -> nn.Module:
        if loss_type == "wgan-gp":
            return DiscLossWGANGP()
        if loss_type in ("gan", "lsgan"):
            return DiscLoss("bce" if loss_type == "gan" else "l1")
        if loss_type in ("ragan", "ragan-ls"):
            return RelativisticDiscLoss(least_squares=loss_type == "ragan-ls")
        raise ConfigError(f"AdvLoss: loss_type must be one of {list(LOSS_TYPES)}, got {loss_type!r}")
