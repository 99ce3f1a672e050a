"""DeepFill v1 (contextual attention) with MMagic 1.2.0's ``DeepFillv1Inpaintor``, encoder, decoder,
refiner, contextual-attention neck and discriminators (see docs/models.md, "Inpainting"); the contextual
attention layer itself is in ops, the two-stage base in base_models."""
from .model import DeepFillv1Inpaintor
from .networks import (ContextualAttentionNeck, DeepFillDecoder, DeepFillEncoder, DeepFillRefiner,
                       DeepFillv1Discriminators)


def components() -> list:
    """Everything this family registers as a model-kind component."""
    return [DeepFillv1Inpaintor, DeepFillEncoder, DeepFillDecoder, ContextualAttentionNeck, DeepFillRefiner,
            DeepFillv1Discriminators]


__all__ = ["ContextualAttentionNeck", "DeepFillDecoder", "DeepFillEncoder", "DeepFillRefiner", "DeepFillv1Discriminators",
           "DeepFillv1Inpaintor", "components"]
