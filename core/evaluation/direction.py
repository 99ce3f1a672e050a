"""Which way is better for a metric value: declared by the metric, else guessed from its name.

Metrics declare a direction per output key (``BaseMetric.directions`` /
``default_direction`` in :mod:`mgx.core.evaluation`). An evaluator turns those into a
mapping of *full* keys (with prefix) to ``"higher"``/``"lower"``; a key a metric computes
under its default direction is listed as ``"PREFIX/*"``. That mapping decides
``save_best``'s rule and is stored with each tracked run (tag ``mgx.metric_directions``),
so ``mgx runs compare`` knows which value is best. Keys nobody declared (runs of older
versions, logged extras) fall back to :func:`guess_from_name`.
"""
from __future__ import annotations

import json
import re
from typing import Mapping

HIGHER = "higher"
LOWER = "lower"
DIRECTIONS = (HIGHER, LOWER)
TRACKING_TAG = "mgx.metric_directions"

# Name-based guess for undeclared keys. MS-SSIM is checked first: as a metric over generated
# samples (MMagic's) it measures sample similarity, so lower (more diverse) is better.
_LOWER_FIRST = re.compile(r"ms[-_]?ssim", re.I)
_HIGHER = re.compile(r"(psnr|ssim|acc|precision|recall|iou|(^|/)is(/|$)|inception_score|auc|f1)", re.I)
_LOWER = re.compile(r"(loss|fid|kid|lpips|mse|mae|ppl|err|nll|bpd|swd|l1|l2|niqe|time)", re.I)


def guess_from_name(key: str) -> str | None:
    """``"higher"``/``"lower"`` when the name says which is better (FID: lower, PSNR: higher), else None."""
    if _LOWER_FIRST.search(key):
        return LOWER
    name = key.rsplit("/", 1)[-1]
    for text in (name, key):
        if _HIGHER.search(text):
            return HIGHER
        if _LOWER.search(text):
            return LOWER
    return None


def lookup(declared: Mapping[str, str | None], key: str) -> tuple[bool, str | None]:
    """(found, direction) of ``key`` in a declared mapping: the exact key, else the longest
    ``"PREFIX/*"`` pattern that covers it, else ``"*"``. A declared ``None`` means 'neither'."""
    if key in declared:
        return True, declared[key]
    best = None
    for pattern in declared:
        if pattern.endswith("/*") and key.startswith(pattern[:-1]) and (best is None or len(pattern) > len(best)):
            best = pattern
    if best is not None:
        return True, declared[best]
    if "*" in declared:
        return True, declared["*"]
    return False, None


def direction_of(key: str, declared: Mapping[str, str | None] | None = None) -> str | None:
    """The declared direction of ``key``, else the name-based guess."""
    found, direction = lookup(declared or {}, key)
    return direction if found else guess_from_name(key)


def to_tag(declared: Mapping[str, str | None]) -> str:
    return json.dumps(dict(declared), sort_keys=True, separators=(",", ":"))


def from_tag(text: str | None) -> dict[str, str | None]:
    """The mapping stored in a run's tag (an empty mapping when absent or unreadable)."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if v in DIRECTIONS or v is None}
