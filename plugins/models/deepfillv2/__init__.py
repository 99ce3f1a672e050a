"""DeepFill v2 (gated convolutions) and MMagic's ``DeepFillEncoderDecoder``, which both DeepFill versions
build: MMagic's v2 configs train ``TwoStageInpaintor`` (base_models) with DeepFill v1's parts in
``conv_type='gated_conv'`` (see docs/models.md, "Inpainting")."""
from .networks import DeepFillEncoderDecoder


def components() -> list:
    """Everything this family registers as a model-kind component."""
    return [DeepFillEncoderDecoder]


__all__ = ["DeepFillEncoderDecoder", "components"]
