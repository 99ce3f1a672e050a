"""Built-in models: DCGAN and StyleGAN2 (unconditional generation), SRCNN (restoration).

See docs/models.md for the model contract (train_step / val_step / sample).
"""
from mgx.core.hookspecs import hookimpl


@hookimpl
def mgx_register_models(register):
    # Imported here so that loading the plugin does not import torch.
    from .dcgan import DCGAN
    from .srcnn import SRCNN
    from .stylegan2 import StyleGAN2

    register(DCGAN)
    register(SRCNN)
    register(StyleGAN2)
