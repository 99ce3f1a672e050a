"""MMagic's NAFNet family: ``NAFNet`` and ``NAFNetLocal`` (deblurring, denoising), trained inside
``BaseEditModel`` with ``PSNRLoss`` (see docs/models.md)."""


def components() -> list:
    """What this family registers as model-kind components."""
    from .nafnet_net import NAFNet, NAFNetLocal

    return [NAFNet, NAFNetLocal]
