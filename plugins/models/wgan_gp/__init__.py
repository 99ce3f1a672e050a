"""WGAN-GP: MMagic's WGANGP with its WGANGPGenerator/WGANGPDiscriminator (docs/models.md,
"LSGAN, GGAN and WGAN-GP")."""
from .model import WGANGP
from .networks import WGANGPDiscriminator, WGANGPGenerator


def components() -> list:
    return [WGANGP, WGANGPGenerator, WGANGPDiscriminator]


__all__ = ["WGANGP", "WGANGPDiscriminator", "WGANGPGenerator", "components"]
