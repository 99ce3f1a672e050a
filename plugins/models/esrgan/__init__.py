"""ESRGAN (Wang et al. 2018): the ``ESRGAN`` model (SRGAN with a relativistic discriminator loss)
and its ``RRDBNet`` generator (see docs/models.md, "Restoration")."""
from .esrgan import ESRGAN
from .rrdb_net import RRDBNet


def components() -> list:
    """Everything this family registers as a model-kind component."""
    return [ESRGAN, RRDBNet]


__all__ = ["ESRGAN", "RRDBNet", "components"]
