"""MMagic's Restormer family: the ``Restormer`` network (deraining, motion/defocus deblurring,
Gaussian and real denoising), trained and tested inside ``BaseEditModel`` (see docs/models.md)."""


def components() -> list:
    """What this family registers as model-kind components."""
    from .restormer_net import Restormer

    return [Restormer]
