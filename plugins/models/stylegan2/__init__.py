"""StyleGAN2 (Karras et al. 2020) under MMagic 1.2.0's names: ``StyleGAN2`` with
``StyleGANv2Generator`` and ``StyleGAN2Discriminator``. See docs/models.md."""
from .ada import ADAAug, ADAStyleGAN2Discriminator
from .discriminator import StyleGAN2Discriminator
from .generator import StyleGANv2Generator
from .model import StyleGAN2


def components() -> list:
    """Everything this family registers as a model-kind component (StyleGAN2 builds the networks
    itself; they are registered so that the config checks read their signatures)."""
    return [StyleGAN2, StyleGANv2Generator, StyleGAN2Discriminator, ADAStyleGAN2Discriminator, ADAAug]


ALIASES = {StyleGANv2Generator: ("StyleGAN2Generator",), StyleGAN2Discriminator: ("StyleGANv2Discriminator",)}


__all__ = ["ADAAug", "ADAStyleGAN2Discriminator", "ALIASES", "StyleGAN2", "StyleGANv2Generator", "StyleGAN2Discriminator", "components"]
