"""Stable Diffusion XL under MMagic 1.2.0's name: ``StableDiffusionXL`` (two CLIP text encoders, size
conditioning). Needs the ``diffusion`` extra (docs/models.md, "Diffusion")."""
from ..stable_diffusion.extra import available_or_placeholders
from .model import StableDiffusionXL


def components() -> list:
    return available_or_placeholders([StableDiffusionXL], __name__)


__all__ = ["StableDiffusionXL", "components"]
