"""DCGAN: the model (both mgx's and MMagic 1.2.0's config forms), MMagic's networks,
and MMagic's checkpoint keys (see docs/models.md, "DCGAN")."""
from .mmagic_networks import DCGANDiscriminator, DCGANGenerator
from .model import DCGAN


def components() -> list:
    """Everything this family registers as a model-kind component."""
    return [DCGAN, DCGANGenerator, DCGANDiscriminator]


__all__ = ["DCGAN", "DCGANDiscriminator", "DCGANGenerator", "components"]
