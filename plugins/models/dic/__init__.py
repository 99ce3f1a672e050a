"""MMagic's DIC family (face super-resolution with landmark estimation): the ``DIC`` model, its
``DICNet`` generator and the ``LightCNN`` discriminator (its ``LightCNNFeatureLoss`` is in ``losses``; see
docs/models.md, "DIC"); the ``GenerateFacialHeatmap`` transform is in ``mgx.plugins.data``."""


def components() -> list:
    """What this family registers as model-kind components."""
    from .dic import DIC
    from .dic_net import DICNet
    from .hourglass import FeedbackHourglass
    from .light_cnn import LightCNN

    return [DIC, DICNet, FeedbackHourglass, LightCNN]
