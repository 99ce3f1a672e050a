"""StyleGAN v1 (Karras et al. 2019) under MMagic 1.2.0's names: ``StyleGANv1`` with ``StyleGANv1Generator``
and ``StyleGAN1Discriminator``, grown progressively like PGGAN (docs/models.md, "StyleGANv1")."""
from .model import StyleGAN1
from .networks import StyleGAN1Discriminator, StyleGAN1Generator


def components() -> list:
    return [StyleGAN1, StyleGAN1Generator, StyleGAN1Discriminator]


ALIASES = {StyleGAN1: ("StyleGANv1", "StyleGANV1"), StyleGAN1Generator: ("StyleGANv1Generator",),
           StyleGAN1Discriminator: ("StyleGANv1Discriminator",)}

__all__ = ["ALIASES", "StyleGAN1", "StyleGAN1Discriminator", "StyleGAN1Generator", "components"]
