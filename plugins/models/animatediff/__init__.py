"""AnimateDiff under MMagic 1.2.0's names, on diffusers: the ``AnimateDiff`` model and
``UNet3DConditionMotionModel`` (a ``diffusers.UNetMotionModel``); the original motion-module and
DreamBooth checkpoints load through ``weights.py``. Needs the ``diffusion`` extra (docs/models.md)."""
from ..stable_diffusion.extra import available_or_placeholders
from .model import AnimateDiff
from .unet import UNet3DConditionMotionModel


def components() -> list:
    return available_or_placeholders([AnimateDiff, UNet3DConditionMotionModel], __name__)


__all__ = ["AnimateDiff", "UNet3DConditionMotionModel", "components"]
