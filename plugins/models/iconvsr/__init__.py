"""IconVSR (Chan et al. 2021): ``IconVSRNet``, trained by ``BasicVSR`` (see docs/models.md,
"Video super-resolution")."""
from ..ops.edvr_modules import EDVRFeatureExtractor
from .iconvsr_net import IconVSRNet


def components() -> list:
    """Everything this family registers as a model-kind component."""
    return [IconVSRNet]


__all__ = ["EDVRFeatureExtractor", "IconVSRNet", "components"]
