"""Instance-aware colorization (Su et al. 2020) with MMagic 1.2.0's ``InstColorization``,
``ColorizationNet`` and ``FusionNet``; ``InstanceCrop`` (plugins/data) supplies the instance boxes and
``HuberLoss`` (losses) the training loss. See docs/models.md, "Colorization"."""
from .model import InstColorization
from .networks import ColorizationNet, FusionNet


def components() -> list:
    """Everything this family registers as a model-kind component."""
    return [InstColorization, ColorizationNet, FusionNet]


__all__ = ["ColorizationNet", "FusionNet", "InstColorization", "components"]
