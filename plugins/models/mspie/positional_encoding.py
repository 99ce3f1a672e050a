"""The positional encodings of "Positional Encoding as Spatial Inductive Bias in GANs" (Xu et al.,
CVPR 2021) under MMagic 1.2.0's names.

``SPE`` / ``SPE2d`` (``SinusoidalPositionalEmbedding``): position ``p`` ↦ ``[sin(p·ω_k), cos(p·ω_k)]``,
``ω_k = 10000^(−k / (d/2 − 1))`` (``10000^(−k / (d/2))`` with ``div_half_dim``), ``k < d/2``, padding
position ``padding_idx`` ↦ 0. A 1-D input of ids gets positions as fairseq counts them
(``cumsum(id ≠ padding_idx) · (id ≠ padding_idx) + padding_idx``); a 4-D input gets the 2-D grid:
the x embedding of columns ``1…W`` (shifted by ``center_shift``) stacked over rows, then the y one,
``2d`` channels in all. ``CSG`` / ``CSG2d`` / ``CatersianGrid``: the grid_sample convention, x then y
in ``[−1, 1]`` (corners at ±1).
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from mgx.core.errors import ConfigError


def sinusoidal_table(num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                     div_half_dim: bool = False) -> torch.Tensor:
    """``num_embeddings × embedding_dim``: row p is ``[sin(p·ω), cos(p·ω)]`` (see the module docstring)."""
    half = embedding_dim // 2
    step = math.log(10000) / (half if div_half_dim else half - 1)
    frequencies = torch.exp(torch.arange(half, dtype=torch.float) * -step)
    angles = torch.arange(num_embeddings, dtype=torch.float).unsqueeze(1) * frequencies.unsqueeze(0)
    table = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1).view(num_embeddings, -1)
    if padding_idx is not None:
        table[padding_idx, :] = 0
    return table


def _center_shift(size: int, center_shift: int | None) -> int:
    if center_shift is None:
        return 0
    return center_shift - (size // 2 if size % 2 == 0 else size // 2 + 1)


class SinusoidalPositionalEmbedding(nn.Module):
    """See the module docstring. ``_float_tensor`` is MMagic's one-element buffer (kept for its
    state-dict key; the table follows its dtype and device)."""

    def __init__(self, embedding_dim: int, padding_idx: int, init_size: int = 1024, div_half_dim: bool = False,
                 center_shift: int | None = None) -> None:
        super().__init__()
        if isinstance(embedding_dim, bool) or not isinstance(embedding_dim, int) or embedding_dim < 4 \
                or embedding_dim % 2:
            raise ConfigError(f"SPE: embedding_dim must be an even int >= 4, got {embedding_dim!r}")
        if not isinstance(padding_idx, int) or isinstance(padding_idx, bool):
            raise ConfigError(f"SPE: padding_idx must be an int, got {padding_idx!r}")
        self.embedding_dim, self.padding_idx = embedding_dim, padding_idx
        self.div_half_dim, self.center_shift = bool(div_half_dim), center_shift
        self.weights = sinusoidal_table(init_size, embedding_dim, padding_idx, self.div_half_dim)
        self.register_buffer("_float_tensor", torch.FloatTensor(1))

    def make_positions(self, ids: torch.Tensor) -> torch.Tensor:
        mask = ids.ne(self.padding_idx).int()
        return (torch.cumsum(mask, dim=1).type_as(mask) * mask).long() + self.padding_idx

    def forward(self, x: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        if x.dim() == 4:
            return self.make_grid2d_like(x, **kwargs)
        if x.dim() != 2:
            raise ValueError(f"SPE: input must be 2-D (batch × ids) or 4-D (N×C×H×W), got {tuple(x.shape)}")
        batch, length = x.shape
        if self.padding_idx + 1 + length > self.weights.size(0):
            # MMagic regrows the table without div_half_dim; kept so that its checkpoints behave the same
            self.weights = sinusoidal_table(self.padding_idx + 1 + length, self.embedding_dim, self.padding_idx)
        self.weights = self.weights.to(self._float_tensor)
        positions = self.make_positions(x).to(self._float_tensor.device)
        return self.weights.index_select(0, positions.view(-1)).view(batch, length, self.embedding_dim).detach()

    def make_grid2d(self, height: int, width: int, num_batches: int = 1,
                    center_shift: int | None = None) -> torch.Tensor:
        shift = self.center_shift if center_shift is None else center_shift
        x_ids = torch.arange(1, width + 1).unsqueeze(0).repeat(num_batches, 1) + _center_shift(width, shift)
        y_ids = torch.arange(1, height + 1).unsqueeze(0).repeat(num_batches, 1) + _center_shift(height, shift)
        x_grid = self(x_ids).transpose(1, 2).unsqueeze(2).repeat(1, 1, height, 1)
        y_grid = self(y_ids).transpose(1, 2).unsqueeze(3).repeat(1, 1, 1, width)
        return torch.cat([x_grid, y_grid], dim=1).detach()

    def make_grid2d_like(self, x: torch.Tensor, center_shift: int | None = None) -> torch.Tensor:
        """``N × 2·embedding_dim × H × W`` for ``x`` of ``N × · × H × W``, in ``x``'s dtype and device."""
        return self.make_grid2d(x.shape[-2], x.shape[-1], x.size(0), center_shift).to(x)


class CatersianGrid(nn.Module):
    """See the module docstring (MMagic's spelling of the name)."""

    def forward(self, x: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f"CSG: input must be N×C×H×W, got {tuple(x.shape)}")
        return self.make_grid2d_like(x, **kwargs)

    def make_grid2d(self, height: int, width: int, num_batches: int = 1, requires_grad: bool = False
                    ) -> torch.Tensor:
        grid_y, grid_x = torch.meshgrid(torch.arange(0, height), torch.arange(0, width), indexing="ij")
        grid_x = 2 * grid_x / max(float(width) - 1.0, 1.0) - 1.0
        grid_y = 2 * grid_y / max(float(height) - 1.0, 1.0) - 1.0
        grid = torch.stack((grid_x, grid_y), 0).unsqueeze(0).repeat(num_batches, 1, 1, 1)
        return grid.requires_grad_(requires_grad)

    def make_grid2d_like(self, x: torch.Tensor, requires_grad: bool = False) -> torch.Tensor:
        return self.make_grid2d(x.shape[-2], x.shape[-1], x.size(0), requires_grad).to(x)


__all__ = ["CatersianGrid", "SinusoidalPositionalEmbedding", "sinusoidal_table"]
