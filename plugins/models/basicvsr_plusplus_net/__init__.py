"""BasicVSR++ (Chan et al. 2022): ``BasicVSRPlusPlusNet``, trained by ``BasicVSR`` (see docs/models.md,
"Video super-resolution")."""
from .alignment import SecondOrderDeformableAlignment
from .basicvsr_plusplus_net import BasicVSRPlusPlusNet


def components() -> list:
    """Everything this family registers as a model-kind component."""
    return [BasicVSRPlusPlusNet]


__all__ = ["BasicVSRPlusPlusNet", "SecondOrderDeformableAlignment", "components"]
