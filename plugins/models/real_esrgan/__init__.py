"""MMagic's Real-ESRGAN family: the ``RealESRGAN`` model (also Real-ESRNet, without discriminator) and
``UNetDiscriminatorWithSpectralNorm``; the generator is ``RRDBNet`` (esrgan family) and the EMA copy is
kept by the ``ExponentialMovingAverageHook`` run hook (see docs/models.md)."""


def components() -> list:
    """What this family registers as model-kind components."""
    from .real_esrgan import RealESRGAN
    from .unet_disc import UNetDiscriminatorWithSpectralNorm

    return [RealESRGAN, UNetDiscriminatorWithSpectralNorm]
