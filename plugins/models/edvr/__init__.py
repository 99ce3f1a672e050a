"""EDVR (Wang et al. 2019): its alignment and fusion modules (``PCDAlignment``, ``TSAFusion``,
``ModulatedDCNPack``), used by IconVSR's refill network. ``EDVR``/``EDVRNet`` themselves are not built yet."""
from .edvr_modules import ModulatedDCNPack, PCDAlignment, TSAFusion


def components() -> list:
    """Nothing registered yet (EDVRNet is not built)."""
    return []


__all__ = ["ModulatedDCNPack", "PCDAlignment", "TSAFusion", "components"]
