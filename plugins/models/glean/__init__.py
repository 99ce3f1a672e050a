"""MMagic's GLEAN family: ``GLEANStyleGANv2`` (a frozen StyleGAN2 generator as a latent bank for ×8–×16
super-resolution) trained inside ``SRGAN`` against ``StyleGANv2Discriminator`` (see docs/models.md)."""


def components() -> list:
    """What this family registers as model-kind components."""
    from .glean_styleganv2 import GLEANStyleGANv2

    return [GLEANStyleGANv2]  # its StyleGANv2Discriminator is the stylegan2 family's (an alias there)
