"""Sample grids as PNG files: the tiling and 8-bit rounding of torchvision's ``make_grid`` /
``save_image`` (pixel for pixel), without importing torchvision: its import pulls in torch._dynamo
(~1.5 s of CPU), which an `mgx run test` otherwise never needs."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any


def make_grid(images: Any, nrow: int = 8, padding: int = 2) -> Any:
    """N×C×H×W images (one channel: repeated to three) tiled ``nrow`` to a row, ``padding`` black pixels
    around and between them; one image is returned as it is (C×H×W), unpadded."""
    import torch

    if images.dim() == 3:
        images = images.unsqueeze(0)
    if images.size(1) == 1:
        images = torch.cat((images, images, images), dim=1)
    if images.size(0) == 1:
        return images.squeeze(0)
    count, channels, height, width = images.shape
    columns = min(nrow, count)
    rows = math.ceil(count / columns)
    cell_h, cell_w = height + padding, width + padding
    grid = images.new_zeros((channels, cell_h * rows + padding, cell_w * columns + padding))
    for index in range(count):
        top, left = index // columns * cell_h + padding, index % columns * cell_w + padding
        grid[:, top:top + height, left:left + width] = images[index]
    return grid


def save_png(grid: Any, path: Path) -> None:
    """A C×H×W grid in [0, 1] (or N×C×H×W images, tiled first) as an 8-bit PNG, rounded to nearest."""
    import torch
    from PIL import Image

    grid = make_grid(grid)
    pixels = grid.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to("cpu", torch.uint8).numpy()
    Image.fromarray(pixels).save(path)
