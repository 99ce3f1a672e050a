"""DreamBooth under MMagic 1.2.0's names: the ``DreamBooth`` model (LoRA, prior preservation) and
``DreamBoothDataset``. Needs the ``diffusion`` extra (docs/models.md, "Diffusion")."""
from .dataset import DreamBoothDataset
from .model import DreamBooth


def components() -> list:
    return [DreamBooth]


__all__ = ["DreamBooth", "DreamBoothDataset", "components"]
