"""Built-in models: DCGAN (with MMagic's DCGANGenerator/DCGANDiscriminator) and
StyleGAN2 (unconditional generation), and MMagic's restoration family (BaseEditModel with SRCNNNet/EDSRNet/MSRResNet/RRDBNet
generators, SRGAN, ESRGAN).

See docs/models.md for the model contract (train_step / val_step / sample).
Generators, discriminators, losses and the DataPreprocessor are registered as
models too (MMagic keeps them all in its MODELS registry), so a config names
them by ``type`` and the model that owns them builds them.
"""
from mgx.core.hookspecs import hookimpl


@hookimpl
def mgx_register_models(register):
    # Imported here so that loading the plugin does not import torch.
    from . import dcgan, editors
    from .data_preprocessor import DataPreprocessor
    from .stylegan2 import StyleGAN2, StyleGAN2Discriminator, StyleGANv2Generator

    for component in dcgan.components():
        register(component)
    register(StyleGAN2)
    # (StyleGAN2 builds them itself; registered so that config checks read their signatures)
    register(StyleGANv2Generator, aliases=("StyleGAN2Generator",))
    register(StyleGAN2Discriminator, aliases=("StyleGANv2Discriminator",))
    register(DataPreprocessor)
    for component in editors.components():
        register(component)
