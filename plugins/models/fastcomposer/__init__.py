"""FastComposer under MMagic 1.2.0's name: the ``FastComposer`` model (inference: subjects' CLIP image
embeddings fused into the prompt, ``model.py``) and the parts MMagic defines itself (``modules.py``).
Needs the ``diffusion`` extra (docs/models.md, "FastComposer")."""
from ..stable_diffusion.extra import available_or_placeholders
from .model import FastComposer


def components() -> list:
    return available_or_placeholders([FastComposer], __name__)


__all__ = ["FastComposer", "components"]
