"""Partial convolutions for irregular holes (Liu et al. 2018) with MMagic 1.2.0's ``PConvInpaintor`` and
encoder-decoder (see docs/models.md, "Inpainting"); the ``PConv`` layer itself is shared: ops."""
from .model import PConvInpaintor
from .networks import PConvDecoder, PConvEncoder, PConvEncoderDecoder


def components() -> list:
    """Everything this family registers as a model-kind component."""
    return [PConvInpaintor, PConvEncoderDecoder, PConvEncoder, PConvDecoder]


__all__ = ["PConvDecoder", "PConvEncoder", "PConvEncoderDecoder", "PConvInpaintor", "components"]
