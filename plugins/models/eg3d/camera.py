"""EG3D's cameras under MMagic 1.2.0's names: ``GaussianCamera`` and ``UniformCamera`` sample a camera
position on a sphere around ``look_at`` and give camera-to-world and intrinsic matrices.

Angles are in radians: the horizontal angle (yaw, ``theta``) is drawn around ``horizontal_mean``; the
vertical one is drawn around ``vertical_mean``, clamped to (0, π), and mapped through
``phi = arccos(1 - 2 v / π)`` (uniform on the sphere's cosine, as MMagic and EG3D do). The position is
``radius · (sin φ cos(π - θ), cos φ, sin φ sin(π - θ))`` (y is up by default). Intrinsics are in units
of the image side: ``[[f, 0, 0.5], [0, f, 0.5], [0, 0, 1]]`` with ``f = 1 / (tan(fov / 2) · 1.414)`` from
a field of view in degrees (EG3D's ``1.414``), or ``focal`` as given. A conditional input of the
generator is the flattened 4×4 camera-to-world matrix followed by the flattened 3×3 intrinsics (25).
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

from mgx.core.errors import ConfigError

SAMPLING = ("uniform", "gaussian")


def normalize_vecs(vectors: torch.Tensor) -> torch.Tensor:
    return vectors / torch.norm(vectors, dim=-1, keepdim=True)


def create_cam2world_matrix(forward: torch.Tensor, origin: torch.Tensor, up: torch.Tensor) -> torch.Tensor:
    """N×4×4 camera-to-world matrices (right-handed; columns right, up, forward) of cameras at ``origin``
    (N×3) looking along ``forward`` (N×3), ``up`` the world's up direction."""
    forward = normalize_vecs(forward)
    up_vector = up.to(forward.dtype).expand_as(forward)
    right = -normalize_vecs(torch.cross(up_vector, forward, dim=-1))
    up_vector = normalize_vecs(torch.cross(forward, right, dim=-1))
    matrix = torch.eye(4, dtype=forward.dtype, device=origin.device).repeat(forward.shape[0], 1, 1)
    matrix[:, :3, :3] = torch.stack((right, up_vector, forward), dim=-1)
    matrix[:, :3, 3] = origin
    return matrix


class BaseCamera:
    """A camera on a sphere; ``sampling_strategy`` 'uniform' (mean ± std) or 'gaussian' (N(mean, std²))."""

    def __init__(self, horizontal_mean: float | None = None, vertical_mean: float | None = None,
                 horizontal_std: float | None = 0, vertical_std: float | None = 0,
                 look_at: Sequence[float] = (0, 0, 0), fov: float | None = None, focal: float | None = None,
                 up: Sequence[float] = (0, 1, 0), radius: float | None = 1,
                 sampling_strategy: str = "uniform") -> None:
        who = type(self).__name__
        if fov is not None and focal is not None:
            raise ConfigError(f"{who}: give fov (degrees) or focal, not both")
        if str(sampling_strategy).lower() not in SAMPLING:
            raise ConfigError(f"{who}: sampling_strategy must be 'uniform' or 'gaussian', got {sampling_strategy!r}")
        for name, vector in (("look_at", look_at), ("up", up)):
            if len(list(vector)) != 3:
                raise ConfigError(f"{who}: {name} must be 3 numbers, got {vector!r}")
        self.horizontal_mean, self.vertical_mean = horizontal_mean, vertical_mean
        self.horizontal_std, self.vertical_std = horizontal_std, vertical_std
        self.look_at, self.up, self.radius = list(look_at), list(up), radius
        self.fov, self.focal = fov, focal
        self.sampling_strategy = str(sampling_strategy).lower()

    def _sample_in_range(self, mean: float, std: float, batch_size: int) -> torch.Tensor:
        if self.sampling_strategy == "uniform":
            return (torch.rand((batch_size, 1)) - 0.5) * 2 * std + mean
        return torch.randn((batch_size, 1)) * std + mean

    def sample_theta(self, mean: float, std: float, batch_size: int) -> torch.Tensor:
        return self._sample_in_range(mean, std, batch_size)

    def sample_phi(self, mean: float, std: float, batch_size: int) -> torch.Tensor:
        v = self._sample_in_range(mean, std, batch_size).clamp(1e-5, math.pi - 1e-5)
        return torch.arccos(1 - 2 * v / math.pi)

    def fov_to_intrinsic(self, fov: float | None = None, device=None) -> torch.Tensor:
        fov = self.fov if fov is None else fov
        if fov is None:
            raise ValueError(f"{type(self).__name__}: no fov given or configured")
        return self.focal_to_instrinsic(float(1 / (math.tan(fov * math.pi / 360) * 1.414)), device)

    def focal_to_instrinsic(self, focal: float | None = None, device=None) -> torch.Tensor:
        """(MMagic's spelling.)"""
        focal = self.focal if focal is None else focal
        if focal is None:
            raise ValueError(f"{type(self).__name__}: no focal given or configured")
        return torch.tensor([[focal, 0, 0.5], [0, focal, 0.5], [0, 0, 1]], device=device)

    def sample_intrinsic(self, fov: float | None = None, focal: float | None = None, device=None,
                         batch_size: int = 1) -> torch.Tensor:
        """N×3×3 intrinsics from ``fov`` or ``focal`` (else the configured one)."""
        if fov is not None and focal is not None:
            raise ValueError(f"{type(self).__name__}: give fov or focal, not both")
        if fov is None and focal is None:
            fov, focal = self.fov, self.focal
        if fov is None and focal is None:
            raise ValueError(f"{type(self).__name__}: neither fov nor focal is given or configured")
        matrix = self.fov_to_intrinsic(fov, device) if fov is not None else self.focal_to_instrinsic(focal, device)
        return matrix[None].repeat(batch_size, 1, 1)

    def _setting(self, value, name: str):
        return getattr(self, name) if value is None else value

    def sample_camera2world(self, h_mean: float | None = None, v_mean: float | None = None,
                            h_std: float | None = None, v_std: float | None = None, look_at=None, up=None,
                            radius: float | None = None, batch_size: int = 1, device=None) -> torch.Tensor:
        """N×4×4 camera-to-world matrices of cameras drawn on the sphere (arguments override the settings)."""
        h_mean, v_mean = self._setting(h_mean, "horizontal_mean"), self._setting(v_mean, "vertical_mean")
        h_std, v_std = self._setting(h_std, "horizontal_std"), self._setting(v_std, "vertical_std")
        radius = self._setting(radius, "radius")
        look_at = torch.as_tensor(self._setting(look_at, "look_at"), dtype=torch.float32, device=device)
        up = torch.as_tensor(self._setting(up, "up"), dtype=torch.float32, device=device)
        theta = self.sample_theta(h_mean, h_std, batch_size).to(device)
        phi = self.sample_phi(v_mean, v_std, batch_size).to(device)
        origins = torch.cat([radius * torch.sin(phi) * torch.cos(math.pi - theta), radius * torch.cos(phi),
                             radius * torch.sin(phi) * torch.sin(math.pi - theta)], dim=1)
        return create_cam2world_matrix(normalize_vecs(look_at - origins), origins, up)

    def interpolation_cam2world(self, num_images: int, h_mean: float | None = None, v_mean: float | None = None,
                                h_std: float | None = None, v_std: float | None = None, look_at=None, up=None,
                                radius: float | None = None, batch_size: int = 1, device=None) -> list[torch.Tensor]:
        """Camera-to-world matrices of ``num_images`` cameras on a closed path (an ellipse of half-axes
        ``h_std``, ``v_std`` around the means)."""
        h_mean, v_mean = self._setting(h_mean, "horizontal_mean"), self._setting(v_mean, "vertical_mean")
        h_std, v_std = self._setting(h_std, "horizontal_std"), self._setting(v_std, "vertical_std")
        path = []
        for index in range(num_images):
            angle = 2 * math.pi / num_images * index
            path.append(self.sample_camera2world(h_mean + h_std * math.sin(angle), v_mean + v_std * math.cos(angle),
                                                 0, 0, look_at, up, radius, batch_size, device))
        return path

    def __repr__(self) -> str:
        settings = ("horizontal_mean", "vertical_mean", "horizontal_std", "vertical_std", "fov", "focal",
                    "look_at", "up", "radius", "sampling_strategy")
        return type(self).__name__ + "(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in settings
                                                     if getattr(self, name) is not None) + ")"


class GaussianCamera(BaseCamera):
    """Camera angles drawn from N(mean, std²)."""

    def __init__(self, horizontal_mean: float | None = None, vertical_mean: float | None = None,
                 horizontal_std: float | None = 0, vertical_std: float | None = 0,
                 look_at: Sequence[float] = (0, 0, 0), fov: float | None = None, focal: float | None = None,
                 up: Sequence[float] = (0, 1, 0), radius: float | None = 1) -> None:
        super().__init__(horizontal_mean, vertical_mean, horizontal_std, vertical_std, look_at, fov, focal, up,
                         radius, "gaussian")


class UniformCamera(BaseCamera):
    """Camera angles drawn uniformly from mean ± std."""

    def __init__(self, horizontal_mean: float | None = None, vertical_mean: float | None = None,
                 horizontal_std: float | None = 0, vertical_std: float | None = 0,
                 look_at: Sequence[float] = (0, 0, 0), fov: float | None = None, focal: float | None = None,
                 up: Sequence[float] = (0, 1, 0), radius: float | None = 1) -> None:
        super().__init__(horizontal_mean, vertical_mean, horizontal_std, vertical_std, look_at, fov, focal, up,
                         radius, "uniform")


__all__ = ["BaseCamera", "GaussianCamera", "UniformCamera", "create_cam2world_matrix", "normalize_vecs"]
