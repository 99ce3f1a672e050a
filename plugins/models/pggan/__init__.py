"""PGGAN (Karras et al. 2018) under MMagic 1.2.0's names: ``ProgressiveGrowingGAN`` (alias ``PGGAN``) with
``PGGANGenerator`` and ``PGGANDiscriminator``, its growing schedule and per-scale optimizers
(docs/models.md, "PGGAN")."""
from .model import ProgressiveGrowingGAN
from .networks import PGGANDiscriminator, PGGANGenerator


def components() -> list:
    return [ProgressiveGrowingGAN, PGGANGenerator, PGGANDiscriminator]


ALIASES = {ProgressiveGrowingGAN: ("PGGAN",)}

__all__ = ["ALIASES", "PGGANDiscriminator", "PGGANGenerator", "ProgressiveGrowingGAN", "components"]
