"""Tiled inference: run a super-resolution network on overlapping tiles of a large input.

Each tile of ``tile_size`` input pixels is processed with ``tile_overlap``
extra input pixels of context on every side (clipped at the image border) and
only its own region of the output is kept. When the overlap covers the
network's receptive-field radius, every output pixel sees exactly the input
it would see untiled, so the result equals untiled inference (to float
rounding) while only one tile's activations are in memory at a time.
"""
from __future__ import annotations

from typing import Callable

import torch

from mgx.core.errors import ConfigError


def check_tiling(tile_size, tile_overlap, who: str) -> tuple[int | None, int]:
    if tile_size is None:
        return None, 0
    for name, value, low in (("tile_size", tile_size, 1), ("tile_overlap", tile_overlap, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"{who}: test_cfg.{name} must be an int ≥ {low}, got {value!r}")
    return tile_size, tile_overlap


def _scale_of(out_size: int, in_size: int) -> int:
    if out_size % in_size:
        raise ValueError(f"tiled inference needs an integer scale, but a {in_size}-pixel tile gave {out_size} pixels")
    return out_size // in_size


def tiled_forward(network: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, tile_size: int,
                  tile_overlap: int) -> torch.Tensor:
    """``network(images)`` computed tile by tile (see the module docstring)."""
    height, width = images.shape[-2:]
    if height <= tile_size and width <= tile_size:
        return network(images)
    output = None
    scale = 1
    for top in range(0, height, tile_size):
        for left in range(0, width, tile_size):
            bottom, right = min(top + tile_size, height), min(left + tile_size, width)
            y0, x0 = max(top - tile_overlap, 0), max(left - tile_overlap, 0)
            y1, x1 = min(bottom + tile_overlap, height), min(right + tile_overlap, width)
            patch = network(images[..., y0:y1, x0:x1])
            if output is None:
                scale = _scale_of(patch.shape[-1], x1 - x0)
                if _scale_of(patch.shape[-2], y1 - y0) != scale:
                    raise ValueError("tiled inference needs the same scale along H and W")
                output = patch.new_empty(*patch.shape[:-2], height * scale, width * scale)
            output[..., top * scale:bottom * scale, left * scale:right * scale] = \
                patch[..., (top - y0) * scale:(bottom - y0) * scale, (left - x0) * scale:(right - x0) * scale]
    return output
