"""TDAN (Tian et al. 2020): the ``TDAN`` model and its ``TDANNet`` generator (see docs/models.md,
"Video super-resolution"); the deformable convolutions live in ``ops/deform_conv.py``."""
from .tdan import TDAN
from .tdan_net import TDANNet


def components() -> list:
    """Everything this family registers as a model-kind component."""
    return [TDAN, TDANNet]


__all__ = ["TDAN", "TDANNet", "components"]
