"""``MLPRefiner`` (MMagic's name and keys): LIIF's per-query MLP, Linear-ReLU pairs then a Linear."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


class MLPRefiner(nn.Module):
    """Maps ... × in_dim to ... × out_dim through ``hidden_list`` ReLU layers (keys ``layers.0``, ``layers.2``...)."""

    def __init__(self, in_dim: int, out_dim: int, hidden_list: Sequence[int]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        last = in_dim
        for hidden in hidden_list:
            layers += [nn.Linear(last, hidden), nn.ReLU()]
            last = hidden
        layers.append(nn.Linear(last, out_dim))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x.reshape(-1, x.shape[-1])).view(*x.shape[:-1], -1)
