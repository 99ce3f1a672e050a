"""ViCo under MMagic 1.2.0's name: the ``ViCo`` model (Textual Inversion plus image cross-attention in
the UNet, ``attention.py``); its data is ``TextualInversionDataset(with_image_reference=True)``. Needs
the ``diffusion`` extra (docs/models.md, "ViCo")."""
from ..stable_diffusion.extra import available_or_placeholders
from .model import ViCo


def components() -> list:
    return available_or_placeholders([ViCo], __name__)


__all__ = ["ViCo", "components"]
