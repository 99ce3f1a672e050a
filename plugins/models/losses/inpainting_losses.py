"""Losses of MMagic's inpainting models: ``MaskedTVLoss`` (total variation inside the hole) and
``DiscShiftLoss`` (keeps discriminator scores near 0) and ``GradientPenaltyLoss`` (WGAN-GP as a module)."""
from __future__ import annotations

import torch
from torch import nn

from .gradient_penalty import gradient_penalty_loss
from .pixelwise_loss import L1Loss


class MaskedTVLoss(L1Loss):
    """``loss_weight`` × (masked L1 between vertical neighbours + between horizontal neighbours), each mean
    over the pixels whose upper / left neighbour pair starts inside ``mask`` (MMagic's definition)."""

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__(loss_weight=loss_weight)

    def forward(self, pred: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is None:
            mask = torch.ones_like(pred[:, :1])
        vertical = super().forward(pred[:, :, :-1, :], pred[:, :, 1:, :], weight=mask[:, :, :-1, :])
        horizontal = super().forward(pred[:, :, :, :-1], pred[:, :, :, 1:], weight=mask[:, :, :, :-1])
        return vertical + horizontal


class DiscShiftLoss(nn.Module):
    """``loss_weight × mean(x²)`` of discriminator scores (MMagic's default weight 0.1)."""

    def __init__(self, loss_weight: float = 0.1) -> None:
        super().__init__()
        self.loss_weight = float(loss_weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.mean(x * x) * self.loss_weight


class GradientPenaltyLoss(nn.Module):
    """MMagic's ``GradientPenaltyLoss``: ``loss_weight`` × the WGAN-GP penalty of ``discriminator`` between
    ``real_data`` and ``fake_data`` (per-pixel gradient norms; masked and divided by the mask's mean when
    ``mask`` is given), see ``gradient_penalty.py``."""

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = float(loss_weight)

    def forward(self, discriminator: nn.Module, real_data: torch.Tensor, fake_data: torch.Tensor,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        return gradient_penalty_loss(discriminator, real_data, fake_data, mask=mask) * self.loss_weight


__all__ = ["DiscShiftLoss", "GradientPenaltyLoss", "MaskedTVLoss"]
