"""SRGAN (Ledig et al. 2017): the ``SRGAN`` model, its ``MSRResNet`` generator and the ``ModifiedVGG``
discriminator ESRGAN shares (see docs/models.md, "Restoration")."""
from .modified_vgg import ModifiedVGG
from .sr_resnet import MSRResNet
from .srgan import SRGAN


def components() -> list:
    """Everything this family registers as a model-kind component."""
    return [SRGAN, MSRResNet, ModifiedVGG]


__all__ = ["MSRResNet", "ModifiedVGG", "SRGAN", "components"]
