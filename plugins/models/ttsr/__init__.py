"""MMagic's TTSR family (reference-based super-resolution): the ``TTSR`` model, its ``TTSRNet``
generator, ``LTE`` texture extractor, ``SearchTransformer`` and ``TTSRDiscriminator`` (its ``TransferalPerceptualLoss``
is in ``losses``; see docs/models.md, "TTSR")."""


def components() -> list:
    """What this family registers as model-kind components."""
    from .texture import LTE, SearchTransformer
    from .ttsr import TTSR
    from .ttsr_disc import TTSRDiscriminator
    from .ttsr_net import TTSRNet

    return [TTSR, TTSRNet, LTE, SearchTransformer, TTSRDiscriminator]
