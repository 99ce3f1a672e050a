"""Every loss a config names by ``type`` (MMagic's ``models/losses``): pixel losses, ``GANLoss`` and
``PerceptualLoss``; and MMagic's ``gradient_penalty_loss`` function (WGAN-GP). A new family's loss goes here when another family could use it."""
from .adv_loss import AdvLoss
from .composition_loss import CharbonnierCompLoss, L1CompositionLoss, MSECompositionLoss
from .feature_loss import LightCNNFeatureLoss
from .gan_loss import GANLoss
from .gradient_penalty import gradient_penalty_loss
from .inpainting_losses import DiscShiftLoss, GradientPenaltyLoss, MaskedTVLoss
from .perceptual_loss import PerceptualLoss
from .pixelwise_loss import CharbonnierLoss, HuberLoss, L1Loss, MSELoss, PSNRLoss
from .transferal_loss import TransferalPerceptualLoss


def components() -> list:
    """Every loss, registered as a model-kind component (MMagic keeps losses in MODELS)."""
    return [L1Loss, MSELoss, CharbonnierLoss, PSNRLoss, GANLoss, PerceptualLoss, MaskedTVLoss, DiscShiftLoss,
            GradientPenaltyLoss, HuberLoss, L1CompositionLoss, MSECompositionLoss, CharbonnierCompLoss,
            LightCNNFeatureLoss, TransferalPerceptualLoss, AdvLoss]


__all__ = ["AdvLoss", "CharbonnierCompLoss", "CharbonnierLoss", "DiscShiftLoss", "GANLoss", "GradientPenaltyLoss", "HuberLoss",
           "L1CompositionLoss", "L1Loss", "LightCNNFeatureLoss", "MSECompositionLoss", "MSELoss", "MaskedTVLoss", "PSNRLoss", "PerceptualLoss",
           "TransferalPerceptualLoss", "components", "gradient_penalty_loss"]
