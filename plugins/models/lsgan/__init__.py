"""LSGAN: MMagic's least-squares GAN and its LSGANGenerator/LSGANDiscriminator (docs/models.md,
"LSGAN, GGAN and WGAN-GP")."""
from .model import LSGAN
from .networks import LSGANDiscriminator, LSGANGenerator


def components() -> list:
    return [LSGAN, LSGANGenerator, LSGANDiscriminator]


__all__ = ["LSGAN", "LSGANDiscriminator", "LSGANGenerator", "components"]
