"""EG3D (Chan et al. 2022) under MMagic 1.2.0's names: ``EG3D`` with ``TriplaneGenerator``
(``EG3DGenerator``), ``DualDiscriminator`` (``EG3DDiscriminator``) and the cameras ``GaussianCamera`` and
``UniformCamera``. See docs/models.md."""
from .camera import GaussianCamera, UniformCamera
from .discriminator import DualDiscriminator
from .generator import TriplaneGenerator
from .model import EG3D


def components() -> list:
    """Everything this family registers as a model-kind component (EG3D builds its networks and camera;
    they are registered so that configs name them and the config checks read their signatures)."""
    return [EG3D, TriplaneGenerator, DualDiscriminator, GaussianCamera, UniformCamera]


ALIASES = {TriplaneGenerator: ("EG3DGenerator",), DualDiscriminator: ("EG3DDiscriminator",)}


__all__ = ["ALIASES", "DualDiscriminator", "EG3D", "GaussianCamera", "TriplaneGenerator", "UniformCamera",
           "components"]
