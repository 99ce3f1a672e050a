"""MMagic's state-dict keys of its diffusion models, as mgx's. MMagic keeps each diffusers part inside
its wrapper's ``model`` (``unet.model.…``, ``vae.model.…``, ``text_encoder.model.…``) unless the model
unwraps it (FastComposer); a CLIP text model's keys start with ``text_model.`` in transformers 4 and
not in 5, whichever wrote the checkpoint."""
from __future__ import annotations

import re
from typing import Any, Iterable

WRAPPED = re.compile(r"^(vae|unet|text_encoder)\.model\.")
TEXT_MODEL = "text_model."


def mmagic_keys_as_own(weights: dict[str, Any], own_keys: Iterable[str]) -> dict[str, Any]:
    """``weights`` with MMagic's wrapper prefixes dropped and the text model's ``text_model.`` level
    added or dropped to match ``own_keys``; keys of neither kind pass through."""
    own = set(own_keys)
    adapted = {}
    for key, value in weights.items():
        key = WRAPPED.sub(r"\1.", key)
        adapted[text_model_level_as_own(key, own, "text_encoder.") if key.startswith("text_encoder.") else key] = value
    return adapted


def text_model_level_as_own(key: str, own: Any, prefix: str = "") -> str:
    """A CLIP text model's ``key`` (under ``prefix``) with its ``text_model.`` level added or dropped when
    only that form is one of ``own`` (a set or state dict of keys); else ``key`` as it is."""
    if key in own:
        return key
    level = prefix + TEXT_MODEL
    other = prefix + key[len(level):] if key.startswith(level) else level + key[len(prefix):]
    return other if other in own else key
