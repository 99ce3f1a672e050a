"""MMagic 1.2.0's ``mspie`` family ("Positional Encoding as Spatial Inductive Bias in GANs", the
``positional_encoding_in_gans`` configs): the positional encodings ``SPE``/``SPE2d`` and
``CSG``/``CSG2d``/``CatersianGrid``, and PE-SinGAN (``PESinGAN``, ``SinGANMSGeneratorPE``).
See docs/models.md."""
from .pe_singan import PESinGAN, SinGANMSGeneratorPE
from .positional_encoding import CatersianGrid, SinusoidalPositionalEmbedding


def components() -> list:
    """Everything this family registers as a model-kind component."""
    return [PESinGAN, SinGANMSGeneratorPE, SinusoidalPositionalEmbedding, CatersianGrid]


ALIASES = {SinusoidalPositionalEmbedding: ("SPE", "SPE2d"), CatersianGrid: ("CSG", "CSG2d")}


__all__ = ["ALIASES", "CatersianGrid", "PESinGAN", "SinGANMSGeneratorPE", "SinusoidalPositionalEmbedding",
           "components"]
