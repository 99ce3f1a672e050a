"""TOFlow (Xue et al. 2019, "Video Enhancement with Task-Oriented Flow"): ``TOFlowVSRNet`` (video
super-resolution of pre-upsampled frames, trained by the ``EDVR`` model) and ``TOFlowVFINet`` (frame
interpolation, trained by ``BasicInterpolator``), with their four-level SPyNet (see docs/models.md,
"Video frame interpolation")."""
from .tof_vfi_net import TOFlowVFINet, ToFResBlock
from .tof_vsr_net import TOFlowVSRNet


def components() -> list:
    """Everything this family registers as a model-kind component."""
    return [TOFlowVSRNet, TOFlowVFINet]


__all__ = ["TOFlowVFINet", "TOFlowVSRNet", "ToFResBlock", "components"]
