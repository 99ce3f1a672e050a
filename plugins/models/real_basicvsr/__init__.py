"""RealBasicVSR (Chan et al. 2022): the ``RealBasicVSR`` model and its ``RealBasicVSRNet`` generator (an
image-cleaning module in front of BasicVSRNet); the discriminator is Real-ESRGAN's
``UNetDiscriminatorWithSpectralNorm`` (see docs/models.md, "Video super-resolution")."""


def components() -> list:
    """What this family registers as model-kind components."""
    from .real_basicvsr import RealBasicVSR
    from .real_basicvsr_net import RealBasicVSRNet

    return [RealBasicVSR, RealBasicVSRNet]
