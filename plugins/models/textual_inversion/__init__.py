"""Textual Inversion under MMagic 1.2.0's names: the ``TextualInversion`` model (a new token's
embedding is the only thing trained) and ``TextualInversionDataset``. Needs the ``diffusion`` extra
(docs/models.md, "Diffusion")."""
from ..stable_diffusion.extra import available_or_placeholders
from .dataset import TextualInversionDataset
from .model import TextualInversion


def components() -> list:
    return available_or_placeholders([TextualInversion], __name__)


__all__ = ["TextualInversion", "TextualInversionDataset", "components"]
