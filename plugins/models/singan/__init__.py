"""SinGAN (Shaham et al. 2019) under MMagic 1.2.0's names: ``SinGAN`` with
``SinGANMultiScaleGenerator`` and ``SinGANMultiScaleDiscriminator``; ``SinGANDataset`` is in
mgx.plugins.data, ``PickleDataHook`` a run hook. See docs/models.md."""
from .model import SinGAN
from .networks import SinGANMultiScaleDiscriminator, SinGANMultiScaleGenerator
from .pickle_hook import PickleDataHook


def components() -> list:
    """Everything this family registers as a model-kind component."""
    return [SinGAN, SinGANMultiScaleGenerator, SinGANMultiScaleDiscriminator]


__all__ = ["PickleDataHook", "SinGAN", "SinGANMultiScaleDiscriminator", "SinGANMultiScaleGenerator", "components"]
