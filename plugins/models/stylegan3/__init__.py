"""StyleGAN3 (Karras et al. 2021, alias-free GAN) under MMagic 1.2.0's names: ``StyleGAN3`` with
``StyleGANv3Generator`` (config-T and config-R) and StyleGAN2's discriminator. See docs/models.md."""
from .generator import StyleGANv3Generator
from .model import StyleGAN3


def components() -> list:
    """Everything this family registers as a model-kind component (StyleGAN3 builds its generator
    itself; it is registered so that the config checks read its signature)."""
    return [StyleGAN3, StyleGANv3Generator]


ALIASES = {StyleGANv3Generator: ("StyleGAN3Generator",)}


__all__ = ["ALIASES", "StyleGAN3", "StyleGANv3Generator", "components"]
