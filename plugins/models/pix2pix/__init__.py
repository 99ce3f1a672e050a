"""Pix2Pix: paired image-to-image translation with MMagic 1.2.0's model, U-Net generator and
PatchGAN discriminator (see docs/models.md, "Pix2Pix and CycleGAN")."""
from .generator import UnetGenerator
from .model import Pix2Pix


def components() -> list:
    """Everything this family registers as a model-kind component (its PatchDiscriminator is shared: ops)."""
    return [Pix2Pix, UnetGenerator]


__all__ = ["Pix2Pix", "UnetGenerator", "components"]
