"""Images named by path in a diffusion config (ControlNet conditioning images, images to inpaint)."""
from __future__ import annotations

from pathlib import Path

import torch

from mgx.core.errors import ConfigError


def load_images(paths: list[str], size: int, owner: str) -> torch.Tensor:
    """The images at ``paths`` as N×3×size×size RGB in [0, 1] (bicubic resize)."""
    import numpy as np
    from PIL import Image

    images = []
    for path in paths:
        file = Path(str(path)).expanduser()
        if not file.is_file():
            raise ConfigError(f"{owner}: image {path!r} does not exist")
        with Image.open(file) as image:
            rgb = image.convert("RGB").resize((size, size), Image.Resampling.BICUBIC)
        images.append(torch.from_numpy(np.asarray(rgb, dtype=np.float32) / 255.0).permute(2, 0, 1))
    return torch.stack(images)
