"""AOT-GAN (Zeng et al. 2022) with MMagic 1.2.0's ``AOTInpaintor``, ``AOTEncoderDecoder`` and its parts;
``SoftMaskPatchDiscriminator`` (shared: ops) and the ``smgan`` GANLoss (losses). See docs/models.md,
"Inpainting"."""
from .model import AOTInpaintor
from .networks import AOTBlockNeck, AOTDecoder, AOTEncoder, AOTEncoderDecoder


def components() -> list:
    """Everything this family registers as a model-kind component."""
    return [AOTInpaintor, AOTEncoderDecoder, AOTEncoder, AOTDecoder, AOTBlockNeck]


__all__ = ["AOTBlockNeck", "AOTDecoder", "AOTEncoder", "AOTEncoderDecoder", "AOTInpaintor", "components"]
