"""EDVR (Wang et al. 2019): the ``EDVR`` model and its ``EDVRNet`` generator (see docs/models.md,
"Video super-resolution"); the alignment/fusion modules live in ``ops/edvr_modules.py`` (IconVSR uses them)."""
from .edvr import EDVR
from .edvr_net import EDVRNet


def components() -> list:
    """Everything this family registers as a model-kind component."""
    return [EDVR, EDVRNet]


__all__ = ["EDVR", "EDVRNet", "components"]
