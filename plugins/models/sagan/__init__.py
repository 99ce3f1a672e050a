"""SNGAN-Proj and SAGAN, as MMagic 1.2.0 keeps both in ``editors/sagan``: the model ``SAGAN`` (alias
``SNGAN``), ``SNGANGenerator`` (alias ``SAGANGenerator``), ``ProjDiscriminator`` (alias
``SAGANDiscriminator``) and their blocks (docs/models.md, "SNGAN-Proj and SAGAN")."""
from .model import SAGAN, SNGAN
from .modules import SNConditionNorm, SNGANDiscHeadResBlock, SNGANDiscResBlock, SNGANGenResBlock
from .networks import ProjDiscriminator, SNGANGenerator


class SAGANGenerator(SNGANGenerator):
    """MMagic's second name for :class:`SNGANGenerator`."""


class SAGANDiscriminator(ProjDiscriminator):
    """MMagic's second name for :class:`ProjDiscriminator`."""


def components() -> list:
    return [SAGAN, SNGAN, SNGANGenerator, SAGANGenerator, ProjDiscriminator, SAGANDiscriminator, SNGANGenResBlock,
            SNGANDiscResBlock, SNGANDiscHeadResBlock, SNConditionNorm]


__all__ = ["ProjDiscriminator", "SAGAN", "SAGANDiscriminator", "SAGANGenerator", "SNGAN", "SNGANGenerator",
           "components"]
