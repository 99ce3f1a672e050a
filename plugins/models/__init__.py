"""Built-in models: DCGAN (with MMagic's DCGANGenerator/DCGANDiscriminator) and
StyleGAN2 (unconditional generation), and MMagic's restoration family (BaseEditModel with SRCNNNet/EDSRNet/MSRResNet/RRDBNet
generators, SRGAN, ESRGAN), Restormer, NAFNet and Real-ESRGAN; the
ExponentialMovingAverageHook run hook.

See docs/models.md for the model contract (train_step / val_step / sample).
Generators, discriminators, losses and the DataPreprocessor are registered as
models too (MMagic keeps them all in its MODELS registry), so a config names
them by ``type`` and the model that owns them builds them.
"""
from mgx.core.hookspecs import hookimpl


@hookimpl
def mgx_register_models(register):
    # Imported here so that loading the plugin does not import torch.
    from . import dcgan, editors, nafnet, real_esrgan, restormer
    from .data_preprocessor import DataPreprocessor
    from .stylegan2 import StyleGAN2

    for component in dcgan.components():
        register(component)
    register(StyleGAN2)
    register(DataPreprocessor)
    for family in (editors, restormer, nafnet, real_esrgan):
        for component in family.components():
            register(component)


@hookimpl
def mgx_register_run_hooks(register):
    from .ema_hook import ExponentialMovingAverageHook

    register(ExponentialMovingAverageHook)
