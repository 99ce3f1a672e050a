"""Pixel losses (L1Loss, MSELoss, CharbonnierLoss, PSNRLoss) with MMagic's names and arguments, and
InstColorization's ``HuberLoss``."""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError

REDUCTIONS = ("none", "mean", "sum")


def reduce_weighted(loss: torch.Tensor, weight: torch.Tensor | None, reduction: str, sample_wise: bool) -> torch.Tensor:
    """MMagic's masked reduction: with a weight, 'mean' divides by the weight's sum
    (per sample first when ``sample_wise``); without one, a plain mean/sum."""
    if weight is not None:
        if weight.dim() != loss.dim() or weight.shape[1] not in (1, loss.shape[1]):
            raise ValueError(f"loss weight of shape {tuple(weight.shape)} does not fit the loss {tuple(loss.shape)}")
        loss = loss * weight
    if reduction == "none":
        return loss
    if weight is None or reduction == "sum":
        return loss.mean() if reduction == "mean" else loss.sum()
    weight = weight.expand_as(loss)
    eps = 1e-12
    if sample_wise:
        per_sample = weight.sum(dim=tuple(range(1, loss.dim())), keepdim=True)
        return (loss / (per_sample + eps)).sum() / weight.shape[0]
    return loss.sum() / (weight.sum() + eps)


class _PixelLoss(nn.Module):
    def __init__(self, loss_weight: float = 1.0, reduction: str = "mean", sample_wise: bool = False) -> None:
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ConfigError(f"{type(self).__name__}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.loss_weight, self.reduction, self.sample_wise = float(loss_weight), reduction, bool(sample_wise)

    def elementwise(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def reduced(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor | None:
        """The unweighted mean/sum in one fused op where torch has one (None: use elementwise)."""
        return None

    def forward(self, pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
                **kwargs) -> torch.Tensor:
        if weight is None and self.reduction != "none":
            fused = self.reduced(pred, target)
            if fused is not None:
                return fused if self.loss_weight == 1.0 else self.loss_weight * fused
        loss = self.elementwise(pred, target)
        return self.loss_weight * reduce_weighted(loss, weight, self.reduction, self.sample_wise)


class L1Loss(_PixelLoss):
    """loss_weight · reduce(|pred − target|)."""

    def elementwise(self, pred, target):
        return F.l1_loss(pred, target, reduction="none")

    def reduced(self, pred, target):
        return F.l1_loss(pred, target, reduction=self.reduction)


class MSELoss(_PixelLoss):
    """loss_weight · reduce((pred − target)²)."""

    def elementwise(self, pred, target):
        return F.mse_loss(pred, target, reduction="none")

    def reduced(self, pred, target):
        return F.mse_loss(pred, target, reduction=self.reduction)


class HuberLoss(_PixelLoss):
    """InstColorization's Huber loss (the original repository's; MMagic's config names it with
    ``delta=0.01``): ``loss_weight · reduce(d²/(2δ) if |d| < δ else |d| − δ/2)``, ``d = pred − target``, summed
    over the channels first (so a mean is per pixel)."""

    def __init__(self, delta: float = 0.01, loss_weight: float = 1.0, reduction: str = "mean",
                 sample_wise: bool = False) -> None:
        super().__init__(loss_weight, reduction, sample_wise)
        if isinstance(delta, bool) or not isinstance(delta, (int, float)) or delta <= 0:
            raise ConfigError(f"HuberLoss: delta must be a positive number, got {delta!r}")
        self.delta = float(delta)

    def elementwise(self, pred, target):
        diff = (pred - target).abs()
        return torch.where(diff < self.delta, 0.5 * diff ** 2 / self.delta, diff - 0.5 * self.delta).sum(1, True)


class CharbonnierLoss(_PixelLoss):
    """loss_weight · reduce(sqrt((pred − target)² + eps)): a differentiable L1."""

    def __init__(self, loss_weight: float = 1.0, reduction: str = "mean", sample_wise: bool = False,
                 eps: float = 1e-12) -> None:
        super().__init__(loss_weight, reduction, sample_wise)
        self.eps = float(eps)

    def elementwise(self, pred, target):
        return torch.sqrt((pred - target) ** 2 + self.eps)


class PSNRLoss(nn.Module):
    """HINet's PSNR loss, NAFNet's training loss: loss_weight · 10/ln 10 · mean over the batch of
    ln(MSE per image + 1e-8) — minus the PSNR of each image (up to a constant), averaged.

    ``toY`` is accepted as MMagic 1.2.0 accepts it: its PSNRLoss stores the flag but never uses it, and so
    does this one (the loss is on all channels either way).
    """

    def __init__(self, loss_weight: float = 1.0, toY: bool = False) -> None:  # noqa: N803 (MMagic's name)
        super().__init__()
        self.loss_weight, self.toY = float(loss_weight), bool(toY)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if pred.dim() != 4:
            raise ValueError(f"PSNRLoss expects N×C×H×W images, got shape {tuple(pred.shape)}")
        per_image = (pred - target).pow(2).mean(dim=(1, 2, 3))
        return self.loss_weight * (10 / math.log(10)) * torch.log(per_image + 1e-8).mean()
