"""FLAVR (Kalluri et al. 2023, "Flow-Agnostic Video Representations for Fast Frame Interpolation"): the
``FLAVR`` model and its ``FLAVRNet`` generator, a 3D-convolution U-Net over the input frames (see
docs/models.md, "Video frame interpolation")."""
from .flavr import FLAVR
from .flavr_net import FLAVRNet


def components() -> list:
    """Everything this family registers as a model-kind component."""
    return [FLAVR, FLAVRNet]


__all__ = ["FLAVR", "FLAVRNet", "components"]
