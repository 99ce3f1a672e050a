"""MMagic's single-image restoration family: BaseEditModel, SRGAN, ESRGAN, their generators,
the ModifiedVGG discriminator and the losses (see docs/models.md, "Restoration")."""


def components() -> list:
    """Everything this family registers as a model-kind component (MMagic keeps them all in MODELS)."""
    from .base_edit_model import BaseEditModel
    from .discriminators import ModifiedVGG
    from .generators import GENERATORS
    from .losses import LOSSES
    from .perceptual import PerceptualLoss
    from .srgan import ESRGAN, SRGAN

    return [BaseEditModel, SRGAN, ESRGAN, *GENERATORS, ModifiedVGG, *LOSSES, PerceptualLoss]
