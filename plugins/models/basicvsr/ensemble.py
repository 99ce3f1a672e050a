"""``SpatialTemporalEnsemble`` (MMagic's name and argument): test-time averaging over the eight
flips/transposes of the frames, and optionally over the reversed clip."""
from __future__ import annotations

import itertools

import torch
from torch import nn


def _apply(images: torch.Tensor, vertical: bool, horizontal: bool, transpose: bool) -> torch.Tensor:
    if vertical:
        images = images.flip(-2)
    if horizontal:
        images = images.flip(-1)
    return images.transpose(-2, -1) if transpose else images


def _invert(images: torch.Tensor, vertical: bool, horizontal: bool, transpose: bool) -> torch.Tensor:
    if transpose:
        images = images.transpose(-2, -1)
    if horizontal:
        images = images.flip(-1)
    return images.flip(-2) if vertical else images


class SpatialTemporalEnsemble(nn.Module):
    """mean over the 8 dihedral transforms g of g⁻¹(model(g(x))); with ``is_temporal_ensemble`` also over
    the time-reversed clip (N×T×C×H×W input; images N×C×H×W only without it)."""

    def __init__(self, is_temporal_ensemble: bool = False) -> None:
        super().__init__()
        self.is_temporal_ensemble = bool(is_temporal_ensemble)

    def spatial_ensemble(self, imgs: torch.Tensor, model: nn.Module) -> torch.Tensor:
        total = None
        for flags in itertools.product((False, True), repeat=3):
            output = _invert(model(_apply(imgs, *flags).contiguous()), *flags)
            total = output if total is None else total + output
        return total / 8

    def forward(self, imgs: torch.Tensor, model: nn.Module) -> torch.Tensor:
        if self.is_temporal_ensemble and imgs.dim() != 5:
            raise ValueError("SpatialTemporalEnsemble: is_temporal_ensemble needs N×T×C×H×W clips, not images")
        outputs = self.spatial_ensemble(imgs, model)
        if self.is_temporal_ensemble:
            outputs = 0.5 * (outputs + self.spatial_ensemble(imgs.flip(1), model).flip(1))
        return outputs
