"""IndexNet matting (Lu et al. 2019) with MMagic 1.2.0's ``IndexNet``, ``IndexNetEncoder`` (MobileNetV2 with
index blocks) and ``IndexNetDecoder`` (see docs/models.md, "Matting")."""
from .model import IndexNet
from .networks import IndexNetDecoder, IndexNetEncoder


def components() -> list:
    """Everything this family registers as a model-kind component."""
    return [IndexNet, IndexNetEncoder, IndexNetDecoder]


__all__ = ["IndexNet", "IndexNetDecoder", "IndexNetEncoder", "components"]
