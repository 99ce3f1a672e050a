"""ControlNet under MMagic 1.2.0's names: ``ControlStableDiffusion`` (Stable Diffusion steered by a
conditioning image through a trainable ``ControlNetModel``), ``ControlStableDiffusionImg2Img`` and
``ControlNetDataset``. Needs the ``diffusion`` extra (docs/models.md, "Diffusion")."""
from ..stable_diffusion.extra import available_or_placeholders
from .dataset import ControlNetDataset
from .model import ControlStableDiffusion, ControlStableDiffusionImg2Img


def components() -> list:
    return available_or_placeholders([ControlStableDiffusion, ControlStableDiffusionImg2Img], __name__)


__all__ = ["ControlNetDataset", "ControlStableDiffusion", "ControlStableDiffusionImg2Img", "components"]
