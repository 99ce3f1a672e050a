"""CycleGAN: unpaired translation with MMagic 1.2.0's model, ResNet generator, image pools and
cycle/identity losses (see docs/models.md, "Pix2Pix and CycleGAN")."""
from .generator import ResnetGenerator
from .model import CycleGAN, GANImageBuffer


def components() -> list:
    """Everything this family registers as a model-kind component."""
    return [CycleGAN, ResnetGenerator]


__all__ = ["CycleGAN", "GANImageBuffer", "ResnetGenerator", "components"]
