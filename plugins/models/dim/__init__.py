"""Deep Image Matting (Xu et al. 2017) with MMagic 1.2.0's ``DIM`` and its ``VGG16`` encoder, ``PlainDecoder``
and ``PlainRefiner`` (see docs/models.md, "Matting"); the matting base and preprocessor: base_models."""
from .model import DIM
from .networks import VGG16, PlainDecoder, PlainRefiner


def components() -> list:
    """Everything this family registers as a model-kind component."""
    return [DIM, VGG16, PlainDecoder, PlainRefiner]


__all__ = ["DIM", "PlainDecoder", "PlainRefiner", "VGG16", "components"]
