"""Stable Diffusion under MMagic 1.2.0's names on Hugging Face diffusers/transformers: the model and the
components MMagic's configs name (``UNet2DConditionModel``, ``AutoencoderKL``, ``ClipWrapper``,
``DDIMScheduler``, ``DDPMScheduler``, ``EditDDIMScheduler``, ...), and ``DiffusionPipeline`` (any diffusers
pipeline by name, inference only: MMagic wraps it in its ``archs``, not a family). Needs the ``diffusion`` extra:
without it, the same names are placeholders that say so (``extra.py``)."""
from . import wrappers
from .extra import available_or_placeholders
from .inpaint import StableDiffusionInpaint
from .model import StableDiffusion
from .pipeline import DiffusionPipeline


def components() -> list:
    return available_or_placeholders([StableDiffusion, StableDiffusionInpaint, DiffusionPipeline, *wrappers.components()], __name__)


__all__ = ["DiffusionPipeline", "StableDiffusion", "StableDiffusionInpaint", "components"]
