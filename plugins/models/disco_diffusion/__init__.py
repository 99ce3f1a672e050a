"""Disco diffusion (docs/models.md, "Disco diffusion"): ``DiscoDiffusion`` (aliases ``disco``, ``dd``), CLIP-guided
sampling of MMagic's ``DenoisingUnet`` with the ``SecondaryDiffusionImageNet2`` denoiser and CLIP models from
``transformers`` (MMagic's ``ClipWrapper(clip_type='clip', name=...)``). Needs the ``diffusion`` extra."""
from ..stable_diffusion.extra import available_or_placeholders
from .model import DiscoDiffusion
from .secondary_model import SecondaryDiffusionImageNet2

_DISCO = available_or_placeholders([DiscoDiffusion], __name__)[0]
ALIASES = {_DISCO: ("disco", "dd")}


def components() -> list:
    return [_DISCO, SecondaryDiffusionImageNet2]


__all__ = ["ALIASES", "DiscoDiffusion", "SecondaryDiffusionImageNet2", "components"]
