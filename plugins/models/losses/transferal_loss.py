"""``TransferalPerceptualLoss`` (MMagic's name and arguments): the distance between the LTE features
of the output and the textures the search transformer transferred, summed over the levels."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError


class TransferalPerceptualLoss(nn.Module):
    """``use_attention=True`` weighs each level by the soft attention: sigmoid(attention) at the
    coarsest level and the attention itself bicubically upsampled at the finer ones (MMagic's
    definition, kept as it is so that its results carry over)."""

    def __init__(self, loss_weight: float = 1.0, use_attention: bool = True, criterion: str = "mse") -> None:
        super().__init__()
        criterion = str(criterion).lower()
        if criterion not in ("l1", "mse"):
            raise ConfigError(f"TransferalPerceptualLoss: criterion must be 'l1' or 'mse', got {criterion!r}")
        self.loss_weight = loss_weight
        self.use_attention = use_attention
        self.loss_function = nn.L1Loss() if criterion == "l1" else nn.MSELoss()

    def forward(self, maps: Sequence[torch.Tensor], soft_attention: torch.Tensor,
                textures: Sequence[torch.Tensor]) -> torch.Tensor:
        if self.use_attention:
            height, width = soft_attention.shape[-2:]
            softs = [torch.sigmoid(soft_attention)] + [
                F.interpolate(soft_attention, size=(height * 2 ** i, width * 2 ** i), mode="bicubic",
                              align_corners=False) for i in range(1, len(maps))]
        else:
            softs = [1.0] * len(maps)
        total = sum(self.loss_function(feature * soft, texture * soft)
                    for feature, soft, texture in zip(maps, softs, textures))
        return total * self.loss_weight
