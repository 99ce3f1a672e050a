"""Built-in models, one folder per model family (MMagic's family names): ``dcgan``, ``stylegan2``,
``srcnn``, ``edsr``, ``srgan``, ``esrgan``, ``pix2pix``, ``cyclegan``, ``lsgan``, ``ggan``, ``wgan_gp``; the parts several families share live in
``base_models`` (BaseEditModel), ``losses`` (every loss) and ``ops`` (layers).

See docs/models.md for the model contract (train_step / val_step / sample) and
docs/architecture.md for where a new family goes. Generators, discriminators,
losses and the DataPreprocessor are registered as models too (MMagic keeps them
all in its MODELS registry), so a config names them by ``type`` and the model
that owns them builds them.
"""
from mgx.core.hookspecs import hookimpl


@hookimpl
def mgx_register_models(register):
    # Imported here so that loading the plugin does not import torch.
    from . import (base_models, cyclegan, dcgan, edsr, esrgan, ggan, losses, lsgan, pix2pix, srcnn, srgan,
                   stylegan2, wgan_gp)
    from .data_preprocessor import DataPreprocessor

    # each family (and each shared package) says what it registers: components(), and ALIASES
    # for the components MMagic knows under a second name
    for package in (base_models, losses, dcgan, stylegan2, srcnn, edsr, srgan, esrgan, pix2pix, cyclegan, lsgan,
                    ggan, wgan_gp):
        aliases = getattr(package, "ALIASES", {})
        for component in package.components():
            register(component, aliases=aliases.get(component, ()))
    register(DataPreprocessor)
