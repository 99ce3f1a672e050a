"""Composition losses of matting (MMagic 1.2.0's names and arguments): the pixel loss between the image
recomposed from the predicted alpha, ``pred_alpha · fg + (1 − pred_alpha) · bg``, and the original merged
image, weighted like the pixel losses (a 1-channel weight, e.g. the unknown region, spans the 3 colours)."""
from __future__ import annotations

import torch
from torch import nn

from .pixelwise_loss import CharbonnierLoss, L1Loss, MSELoss


class _CompositionLoss(nn.Module):
    PIXEL_LOSS: type = L1Loss

    def __init__(self, loss_weight: float = 1.0, reduction: str = "mean", sample_wise: bool = False,
                 **pixel_kwargs) -> None:
        super().__init__()
        self.pixel_loss = self.PIXEL_LOSS(loss_weight, reduction, sample_wise, **pixel_kwargs)

    def forward(self, pred_alpha: torch.Tensor, fg: torch.Tensor, bg: torch.Tensor, ori_merged: torch.Tensor,
                weight: torch.Tensor | None = None, **kwargs) -> torch.Tensor:
        pred_merged = pred_alpha * fg + (1.0 - pred_alpha) * bg
        if weight is not None:
            weight = weight.expand(-1, pred_merged.shape[1], -1, -1)
        return self.pixel_loss(pred_merged, ori_merged, weight)


class L1CompositionLoss(_CompositionLoss):
    """loss_weight · reduce(|composite − merged|)."""


class MSECompositionLoss(_CompositionLoss):
    """loss_weight · reduce((composite − merged)²)."""

    PIXEL_LOSS = MSELoss


class CharbonnierCompLoss(_CompositionLoss):
    """loss_weight · reduce(sqrt((composite − merged)² + eps))."""

    PIXEL_LOSS = CharbonnierLoss

    def __init__(self, loss_weight: float = 1.0, reduction: str = "mean", sample_wise: bool = False,
                 eps: float = 1e-12) -> None:
        super().__init__(loss_weight, reduction, sample_wise, eps=eps)


__all__ = ["CharbonnierCompLoss", "L1CompositionLoss", "MSECompositionLoss"]
