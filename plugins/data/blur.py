"""MMagic 1.2.0's ``RandomBlur`` (GLEAN, Real-ESRGAN): a random blur kernel correlated with the image."""
from __future__ import annotations

from typing import Any

import numpy as np

from mgx.core.errors import ConfigError

from .transform_utils import RandomDegradation, keys_arg

KERNEL_TYPES = ("iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso", "sinc")


def _quadratic_form(size: int, sigma_x: float, sigma_y: float, theta: float) -> np.ndarray:
    """``[x, y] Σ⁻¹ [x, y]ᵀ`` on the size×size grid centred at 0 (x along columns), Σ = R diag(σx², σy²) Rᵀ."""
    offsets = np.arange(-size // 2 + 1.0, size // 2 + 1.0)
    x, y = np.meshgrid(offsets, offsets)
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    inverse = np.linalg.inv(rotation @ np.diag([sigma_x ** 2, sigma_y ** 2]) @ rotation.T)
    return inverse[0, 0] * x * x + (inverse[0, 1] + inverse[1, 0]) * x * y + inverse[1, 1] * y * y


def blur_kernel(kind: str, size: int, sigma_x: float, sigma_y: float, theta: float, beta: float,
                omega: float) -> np.ndarray:
    """MMagic's kernels (``blur_kernels.py``), normalised to sum 1; the isotropic kinds use σx only."""
    if kind == "sinc":  # circular low-pass: ω J1(ω r) / (2π r), ω² / (4π) at the centre
        from scipy import special

        centre = (size - 1) / 2
        rows, cols = np.mgrid[0:size, 0:size]
        radius = np.hypot(rows - centre, cols - centre)
        with np.errstate(divide="ignore", invalid="ignore"):
            kernel = omega * special.j1(omega * radius) / (2 * np.pi * radius)
        kernel[size // 2, size // 2] = omega ** 2 / (4 * np.pi)
        return kernel / kernel.sum()
    if kind.endswith("iso") and not kind.endswith("aniso"):
        sigma_y, theta = sigma_x, 0.0
    form = _quadratic_form(size, sigma_x, sigma_y, theta)
    if kind in ("iso", "aniso"):
        kernel = np.exp(-0.5 * form)
    elif kind.startswith("generalized"):
        kernel = np.exp(-0.5 * np.power(form, beta))
    else:  # plateau: 1 / (1 + q^β)
        kernel = np.reciprocal(np.power(form, beta) + 1)
    return kernel / kernel.sum()


def correlate_reflect101(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """OpenCV's ``filter2D(image, -1, kernel)``: correlation, border reflected without repeating the edge,
    the input's dtype kept (uint8 rounded and saturated)."""
    from scipy.signal import fftconvolve

    radius_y, radius_x = kernel.shape[0] // 2, kernel.shape[1] // 2
    planes = image.astype(np.float64)
    squeeze = planes.ndim == 2
    planes = planes[..., None] if squeeze else planes
    # numpy's 'reflect' is OpenCV's BORDER_REFLECT_101 (folding again where the kernel outgrows the image)
    padded = np.pad(planes, ((radius_y, radius_y), (radius_x, radius_x), (0, 0)), mode="reflect")
    flipped = kernel[::-1, ::-1]
    out = np.stack([fftconvolve(padded[..., c], flipped, mode="valid") for c in range(planes.shape[2])], axis=-1)
    out = out[..., 0] if squeeze else out
    if image.dtype == np.uint8:
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out.astype(image.dtype if image.dtype.kind == "f" else np.float32)


class RandomBlur(RandomDegradation):
    """Blur each of ``keys`` with a kernel drawn as MMagic draws it.

    ``params``: ``kernel_list`` / ``kernel_prob`` (the kind, from
    ``KERNEL_TYPES``), ``kernel_size`` (a list, one drawn; odd), ``sigma_x`` /
    ``sigma_y`` / ``rotate_angle`` / ``beta_gaussian`` / ``beta_plateau`` /
    ``omega`` ranges (each drawn uniformly; ``omega`` defaults to [π/3, π], or
    [π/5, π] from size 13), their ``*_step`` (frames drift), ``prob``. As in
    MMagic, the generalized and plateau kinds draw their shape β again from
    ``[β, 1]`` or ``[1, β]`` with equal chance.
    """

    def __init__(self, params: dict, keys: Any) -> None:
        if not isinstance(params, dict):
            raise ConfigError(f"RandomBlur: params must be a dict, got {params!r}")
        missing = [name for name in ("kernel_list", "kernel_prob", "kernel_size") if name not in params]
        if missing:
            raise ConfigError(f"RandomBlur: params needs {missing} (got {sorted(params)})")
        unknown = [kind for kind in params["kernel_list"] if kind not in KERNEL_TYPES]
        if unknown or len(params["kernel_list"]) != len(params["kernel_prob"]):
            raise ConfigError(f"RandomBlur: kernel_list must hold kinds from {KERNEL_TYPES} with one kernel_prob "
                              f"each; got {params['kernel_list']!r}, {params['kernel_prob']!r}")
        sizes = params["kernel_size"]
        if not isinstance(sizes, (list, tuple)) or not sizes or any(
                isinstance(s, bool) or not isinstance(s, int) or s < 1 or s % 2 == 0 for s in sizes):
            raise ConfigError(f"RandomBlur: kernel_size must be a list of odd positive ints, got {sizes!r}")
        self.params, self.keys = params, keys_arg(keys, "RandomBlur", allow_none=False)

    def _kernels(self, count: int, rng: np.random.Generator) -> list[np.ndarray]:
        params = self.params
        kind = str(rng.choice(params["kernel_list"], p=params["kernel_prob"]))
        size = int(params["kernel_size"][rng.integers(len(params["kernel_size"]))])
        ranges = {"sigma_x": params.get("sigma_x", [0, 0]), "sigma_y": params.get("sigma_y", [0, 0]),
                  "rotate_angle": params.get("rotate_angle", [-np.pi, np.pi]),
                  "beta_gaussian": params.get("beta_gaussian", [0.5, 4]),
                  "beta_plateau": params.get("beta_plateau", [1, 2]),
                  "omega": params.get("omega") or ([np.pi / 3, np.pi] if size < 13 else [np.pi / 5, np.pi])}
        values = {name: rng.uniform(low, high) for name, (low, high) in ranges.items()}
        kernels = []
        for _ in range(count):
            beta = values["beta_plateau" if kind.startswith("plateau") else "beta_gaussian"]
            if kind.startswith(("generalized", "plateau")):
                # between beta and 1 whichever is larger, as numpy's legacy uniform (MMagic's) allows
                beta = beta + (1 - beta) * rng.random() if rng.uniform() <= 0.5 else 1 + (beta - 1) * rng.random()
            kernels.append(blur_kernel(kind, size, values["sigma_x"], values["sigma_y"], values["rotate_angle"],
                                       beta, values["omega"]))
            for name, (low, high) in ranges.items():
                step = params.get(f"{name}_step", 0)
                values[name] = float(np.clip(values[name] + rng.uniform(-step, step), low, high))
        return kernels

    def degrade(self, frames: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
        return [correlate_reflect101(image, kernel) for image, kernel in zip(frames, self._kernels(len(frames), rng))]
