"""BasicVSR (Chan et al. 2021): the ``BasicVSR`` model (also trains IconVSR and BasicVSR++) and its
``BasicVSRNet`` generator (see docs/models.md, "Video super-resolution")."""
from .basicvsr import BasicVSR
from .basicvsr_net import BasicVSRNet
from .ensemble import SpatialTemporalEnsemble


def components() -> list:
    """Everything this family registers as a model-kind component."""
    return [BasicVSR, BasicVSRNet, SpatialTemporalEnsemble]


__all__ = ["BasicVSR", "BasicVSRNet", "SpatialTemporalEnsemble", "components"]
