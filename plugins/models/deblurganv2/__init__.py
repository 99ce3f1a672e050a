"""MMagic's DeblurGANv2 family: ``DeblurGanV2`` (the GAN), ``DeblurGanV2Generator`` (FPN on
Inception-ResNet-v2 or MobileNetV2) and ``DeblurGanV2Discriminator`` (double / patch / multi-scale
PatchGAN); its ``AdvLoss`` lives in ``losses`` and its albumentations-style transforms in
``plugins/data/albu_transforms.py`` (see docs/models.md)."""


def components() -> list:
    """What this family registers as model-kind components."""
    from .discriminator import DeblurGanV2Discriminator
    from .generator import DeblurGanV2Generator
    from .model import DeblurGanV2

    return [DeblurGanV2, DeblurGanV2Generator, DeblurGanV2Discriminator]
