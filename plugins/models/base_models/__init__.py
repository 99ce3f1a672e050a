"""Model bases several families share (MMagic's ``models/base_models``): ``BaseEditModel``, one
generator trained with a pixel loss, with pretrained-weight loading and tiled inference."""
from .base_edit_model import BaseEditModel


def components() -> list:
    """The bases registered as model-kind components (a config may name ``BaseEditModel`` itself)."""
    return [BaseEditModel]


__all__ = ["BaseEditModel", "components"]
