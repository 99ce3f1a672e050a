"""Any diffusers pipeline under MMagic 1.2.0's name ``DiffusionPipeline(from_pretrained=...)``,
inference only. Needs the ``diffusion`` extra (docs/models.md, "Diffusion")."""
from ..stable_diffusion.extra import available_or_placeholders
from .model import DiffusionPipeline


def components() -> list:
    return available_or_placeholders([DiffusionPipeline], __name__)


__all__ = ["DiffusionPipeline", "components"]
