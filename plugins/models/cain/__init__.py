"""CAIN (Choi et al. 2020, "Channel Attention Is All You Need for Video Frame Interpolation"): the
``CAIN`` model and its ``CAINNet`` generator (see docs/models.md, "Video frame interpolation")."""
from .cain import CAIN
from .cain_net import CAINNet


def components() -> list:
    """Everything this family registers as a model-kind component."""
    return [CAIN, CAINNet]


__all__ = ["CAIN", "CAINNet", "components"]
