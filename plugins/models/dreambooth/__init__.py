"""DreamBooth under MMagic 1.2.0's names: the ``DreamBooth`` model (LoRA, prior preservation) and
``DreamBoothDataset``. Needs the ``diffusion`` extra (docs/models.md, "Diffusion")."""
from ..stable_diffusion.extra import available_or_placeholders
from .dataset import DreamBoothDataset
from .model import DreamBooth


def components() -> list:
    return available_or_placeholders([DreamBooth], __name__)


__all__ = ["DreamBooth", "DreamBoothDataset", "components"]
