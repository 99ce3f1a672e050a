"""The progressive-growing schedule of MMagic's ``ProgressiveGrowingGAN`` (shared by StyleGANv1).

``nkimgs_per_scale = {'4': 600, '8': 1200, ...}`` (thousands of real images shown per scale, in
increasing scale order): the stage is the number of cumulative thresholds already passed by
``shown_nkimg`` (capped at the last scale). A stage starts at the first iteration that sees it; from
there the new layers fade in: ``transition_weight = clip((shown_nkimg − stage start) / transition_kimgs,
0, 1)`` (1 in the first stage).
"""
from __future__ import annotations

from typing import Any

from mgx.core.errors import ConfigError


def parse_scales(nkimgs_per_scale: Any, who: str) -> tuple[list[int], list[float]]:
    """(scales, kimgs) from MMagic's dict; keys '8', 8 or (8, 8); square scales, increasing."""
    if not isinstance(nkimgs_per_scale, dict) or not nkimgs_per_scale:
        raise ConfigError(f"{who}: nkimgs_per_scale must be a non-empty dict scale -> thousands of images "
                          f"(e.g. {{'4': 600, '8': 1200}}), got {nkimgs_per_scale!r}")
    scales, kimgs = [], []
    for key, value in nkimgs_per_scale.items():
        scale = _scale(key, who)
        if scales and scale <= scales[-1]:
            raise ConfigError(f"{who}: nkimgs_per_scale must list scales in increasing order; {key!r} follows "
                              f"{scales[-1]}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(f"{who}: nkimgs_per_scale[{key!r}] must be a number of kimgs ≥ 0, got {value!r}")
        scales.append(scale)
        kimgs.append(float(value))
    return scales, kimgs


def _scale(key: Any, who: str) -> int:
    if isinstance(key, str) and key.isdigit():
        key = int(key)
    elif isinstance(key, tuple) and len(key) == 2 and key[0] == key[1]:
        key = key[0]
    if isinstance(key, bool) or not isinstance(key, int) or key < 4 or key & (key - 1):
        raise ConfigError(f"{who}: nkimgs_per_scale keys must be square power-of-two scales ≥ 4 ('8', 8 or "
                          f"(8, 8)), got {key!r}")
    return key


def stage_of(shown_nkimg: float, cumulative: list[float]) -> int:
    """Index of the scale trained after ``shown_nkimg`` thousand images."""
    return min(sum(1 for bound in cumulative if bound <= shown_nkimg), len(cumulative) - 1)


def transition_weight(stage: int, shown_nkimg: float, stage_start: float, transition_kimgs: float) -> float:
    if stage == 0:
        return 1.0
    return min(max((shown_nkimg - stage_start) / transition_kimgs, 0.0), 1.0)


__all__ = ["parse_scales", "stage_of", "transition_weight"]
