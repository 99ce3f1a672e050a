"""GGAN: MMagic's Geometric GAN (hinge loss) on DCGAN or LSGAN networks (docs/models.md,
"LSGAN, GGAN and WGAN-GP")."""
from .model import GGAN


def components() -> list:
    return [GGAN]


__all__ = ["GGAN", "components"]
