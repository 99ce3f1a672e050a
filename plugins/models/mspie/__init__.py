"""MMagic 1.2.0's ``mspie`` family ("Positional Encoding as Spatial Inductive Bias in GANs", the
``positional_encoding_in_gans`` configs): the positional encodings ``SPE``/``SPE2d`` and
``CSG``/``CSG2d``/``CatersianGrid``, MSPIE-StyleGAN2 (``MSPIEStyleGAN2``, ``MSStyleGANv2Generator``,
``MSStyleGAN2Discriminator``) and PE-SinGAN (``PESinGAN``, ``SinGANMSGeneratorPE``).
See docs/models.md."""
from .mspie_stylegan2 import MSPIEStyleGAN2, MSStyleGAN2Discriminator, MSStyleGANv2Generator
from .pe_singan import PESinGAN, SinGANMSGeneratorPE
from .positional_encoding import CatersianGrid, SinusoidalPositionalEmbedding


def components() -> list:
    """Everything this family registers as a model-kind component."""
    return [PESinGAN, SinGANMSGeneratorPE, SinusoidalPositionalEmbedding, CatersianGrid, MSPIEStyleGAN2,
            MSStyleGANv2Generator, MSStyleGAN2Discriminator]


ALIASES = {SinusoidalPositionalEmbedding: ("SPE", "SPE2d"), CatersianGrid: ("CSG", "CSG2d")}


__all__ = ["ALIASES", "CatersianGrid", "MSPIEStyleGAN2", "MSStyleGAN2Discriminator", "MSStyleGANv2Generator", "PESinGAN", "SinGANMSGeneratorPE", "SinusoidalPositionalEmbedding",
           "components"]
