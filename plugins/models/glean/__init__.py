"""MMagic's GLEAN family: ``GLEANStyleGANv2`` (a frozen StyleGAN2 generator as a latent bank for ×8–×16
super-resolution) trained inside ``SRGAN`` against ``StyleGANv2Discriminator`` (see docs/models.md)."""


def components() -> list:
    """What this family registers as model-kind components."""
    from .discriminator import StyleGANv2Discriminator
    from .glean_styleganv2 import GLEANStyleGANv2

    return [GLEANStyleGANv2, StyleGANv2Discriminator]
