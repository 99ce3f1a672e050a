"""MMagic's state-dict keys of its diffusion models, as mgx's. MMagic keeps each diffusers part inside
its wrapper's ``model`` (``unet.model.…``, ``vae.model.…``, ``text_encoder.model.…``) unless the model
unwraps it (FastComposer); a CLIP text model's keys start with ``text_model.`` in transformers 4 and
not in 5, whichever wrote the checkpoint."""
from __future__ import annotations

import re
from typing import Any, Iterable

WRAPPED = re.compile(r"^(vae|unet|text_encoder)\.model\.")
TEXT_MODEL = "text_encoder.text_model."


def mmagic_keys_as_own(weights: dict[str, Any], own_keys: Iterable[str]) -> dict[str, Any]:
    """``weights`` with MMagic's wrapper prefixes dropped and the text model's ``text_model.`` level
    added or dropped to match ``own_keys``; keys of neither kind pass through."""
    own = set(own_keys)
    adapted = {}
    for key, value in weights.items():
        key = WRAPPED.sub(r"\1.", key)
        if key not in own and key.startswith("text_encoder."):
            other = key.replace(TEXT_MODEL, "text_encoder.", 1) if key.startswith(TEXT_MODEL) else \
                key.replace("text_encoder.", TEXT_MODEL, 1)
            key = other if other in own else key
        adapted[key] = value
    return adapted
