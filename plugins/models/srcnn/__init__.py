"""SRCNN (Dong et al. 2014): ``SRCNNNet``, trained by ``BaseEditModel`` (see docs/models.md, "Restoration")."""
from .srcnn_net import SRCNNNet


def components() -> list:
    """Everything this family registers as a model-kind component."""
    return [SRCNNNet]


__all__ = ["SRCNNNet", "components"]
