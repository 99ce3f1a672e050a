"""Global&Local image completion (Iizuka et al. 2017) with MMagic 1.2.0's ``GLInpaintor``, encoder-decoder
and ``GLDiscs`` (see docs/models.md, "Inpainting"); ``MultiLayerDiscriminator`` is shared: ops."""
from .model import GLInpaintor
from .networks import GLDecoder, GLDilationNeck, GLDiscs, GLEncoder, GLEncoderDecoder


def components() -> list:
    """Everything this family registers as a model-kind component."""
    return [GLInpaintor, GLEncoderDecoder, GLEncoder, GLDecoder, GLDilationNeck, GLDiscs]


__all__ = ["GLDecoder", "GLDilationNeck", "GLDiscs", "GLEncoder", "GLEncoderDecoder", "GLInpaintor", "components"]
