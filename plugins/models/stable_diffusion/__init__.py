"""Stable Diffusion under MMagic 1.2.0's names on Hugging Face diffusers/transformers: the model and the
components MMagic's configs name (``UNet2DConditionModel``, ``AutoencoderKL``, ``ClipWrapper``,
``DDIMScheduler``, ``DDPMScheduler``, ``EditDDIMScheduler``, ...). Needs the ``diffusion`` extra."""
from . import wrappers
from .model import StableDiffusion


def components() -> list:
    return [StableDiffusion, *wrappers.components()]


__all__ = ["StableDiffusion", "components"]
