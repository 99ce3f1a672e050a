"""Guided diffusion (docs/models.md, "Guided diffusion (ADM)"): ``AblatedDiffusionModel`` (aliases ``ADM``,
``GuidedDiffusion``) sampling with MMagic's ``DenoisingUnet`` (``ddpm``) and the noisy-image classifier
``EncoderUNetModel``, under MMagic 1.2.0's names and keys. The model samples with diffusers' DDIM
scheduler (``EditDDIMScheduler``), so it needs the ``diffusion`` extra; the networks do not."""
from ..stable_diffusion.extra import available_or_placeholders
from .classifier import EncoderUNetModel
from .model import AblatedDiffusionModel


# (a placeholder that names the extra when diffusers is missing, under the aliases too)
_ADM = available_or_placeholders([AblatedDiffusionModel], __name__)[0]
ALIASES = {_ADM: ("ADM", "GuidedDiffusion")}


def components() -> list:
    return [EncoderUNetModel, _ADM]

__all__ = ["ALIASES", "AblatedDiffusionModel", "EncoderUNetModel", "components"]
