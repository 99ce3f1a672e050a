"""GCA matting (Li & Lu 2020) with MMagic 1.2.0's ``GCA``, its ResNet encoders/decoders and the guided
contextual attention ``GCAModule`` (see docs/models.md, "Matting")."""
from .gca_module import GCAModule
from .model import GCA
from .networks import ResGCADecoder, ResGCAEncoder, ResNetDec, ResNetEnc, ResShortcutDec, ResShortcutEnc


def components() -> list:
    """Everything this family registers as a model-kind component."""
    return [GCA, ResNetEnc, ResShortcutEnc, ResGCAEncoder, ResNetDec, ResShortcutDec, ResGCADecoder]


__all__ = ["GCA", "GCAModule", "ResGCADecoder", "ResGCAEncoder", "ResNetDec", "ResNetEnc", "ResShortcutDec",
           "ResShortcutEnc", "components"]
