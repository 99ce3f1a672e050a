"""EDSR (Lim et al. 2017): ``EDSRNet``, trained by ``BaseEditModel`` (see docs/models.md, "Restoration")."""
from .edsr_net import EDSRNet


def components() -> list:
    """Everything this family registers as a model-kind component."""
    return [EDSRNet]


__all__ = ["EDSRNet", "components"]
