"""BigGAN (docs/models.md, "BigGAN"): the model ``BigGAN``, ``BigGANGenerator`` / ``BigGANDeepGenerator``,
``BigGANDiscriminator`` / ``BigGANDeepDiscriminator`` and their blocks, under MMagic 1.2.0's names and keys."""
from .discriminators import BigGANDeepDiscriminator, BigGANDiscriminator
from .generators import BigGANDeepGenerator, BigGANGenerator
from .model import BigGAN, orthogonal_regularisation
from .modules import (BigGANConditionBN, BigGANDeepDiscResBlock, BigGANDeepGenResBlock, BigGANDiscResBlock,
                      BigGANGenResBlock)


def components() -> list:
    return [BigGAN, BigGANGenerator, BigGANDeepGenerator, BigGANDiscriminator, BigGANDeepDiscriminator,
            BigGANConditionBN, BigGANGenResBlock, BigGANDiscResBlock, BigGANDeepGenResBlock, BigGANDeepDiscResBlock]


__all__ = ["BigGAN", "BigGANDeepDiscriminator", "BigGANDeepGenerator", "BigGANDiscriminator", "BigGANGenerator",
           "components", "orthogonal_regularisation"]
