"""CIE L*a*b* conversions (sRGB, D65 white) and InstColorization's network inputs, as MMagic's
``color_utils`` defines them (its constants: the sRGB matrices to 6 digits, the 0.008856 / 7.787 linear
segment of the Lab curve).

``color_data_opt``: ``l_cent``/``l_norm`` map L to (L − 50) / 100, ``ab_norm`` maps ab to ab / 110;
``mask_cent`` is subtracted from the hint mask; ``p``/``sample_PS`` draw colour hints (``p=1`` = none, as
MMagic's config sets); ``ab_thresh > 0`` drops nearly grey images.
"""
from __future__ import annotations

import torch

from mgx.core.errors import ConfigError

RGB_TO_XYZ = ((0.412453, 0.357580, 0.180423), (0.212671, 0.715160, 0.072169), (0.019334, 0.119193, 0.950227))
XYZ_TO_RGB = ((3.24048134, -1.53715152, -0.49853633), (-0.96925495, 1.87599, 0.04155593),
              (0.05564664, -0.20404134, 1.05731107))
D65_WHITE = (0.95047, 1.0, 1.08883)
COLOR_OPTIONS = ("ab_thresh", "p", "sample_PS", "ab_norm", "ab_max", "ab_quant", "l_norm", "l_cent", "mask_cent")


def _mix(matrix: tuple, x: torch.Tensor) -> torch.Tensor:
    """A 3×3 colour matrix applied along dim 1 of N×3×H×W."""
    return torch.einsum("ij,njhw->nihw", torch.tensor(matrix, dtype=x.dtype, device=x.device), x)


def _white(x: torch.Tensor) -> torch.Tensor:
    return torch.tensor(D65_WHITE, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)


def rgb2lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] (N×3×H×W) → L*a*b* (L in [0, 100])."""
    linear = torch.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = _mix(RGB_TO_XYZ, linear) / _white(rgb)
    f = torch.where(xyz > 0.008856, xyz.clamp_min(0.008856) ** (1 / 3), 7.787 * xyz + 16 / 116)
    return torch.cat([116 * f[:, 1:2] - 16, 500 * (f[:, 0:1] - f[:, 1:2]), 200 * (f[:, 1:2] - f[:, 2:3])], dim=1)


def lab2rgb(lab: torch.Tensor) -> torch.Tensor:
    """L*a*b* → sRGB (not clipped above; negative linear values clipped to 0 as MMagic does)."""
    fy = (lab[:, 0:1] + 16) / 116
    f = torch.cat([lab[:, 1:2] / 500 + fy, fy, (fy - lab[:, 2:3] / 200).clamp_min(0)], dim=1)
    xyz = torch.where(f > 0.2068966, f ** 3, (f - 16 / 116) / 7.787) * _white(lab)
    linear = _mix(XYZ_TO_RGB, xyz).clamp_min(0)
    return torch.where(linear > 0.0031308, 1.055 * linear.clamp_min(0.0031308) ** (1 / 2.4) - 0.055, 12.92 * linear)


def check_color_options(options: dict, who: str) -> dict:
    if not isinstance(options, dict) or sorted(set(COLOR_OPTIONS) - set(options)):
        missing = sorted(set(COLOR_OPTIONS) - set(options)) if isinstance(options, dict) else list(COLOR_OPTIONS)
        raise ConfigError(f"{who}: color_data_opt needs {missing} (MMagic's config lists all of {COLOR_OPTIONS})")
    return dict(options)


def normalized_lab(rgb: torch.Tensor, options: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """(L normalised, ab normalised) of sRGB images in [0, 1]."""
    lab = rgb2lab(rgb)
    return (lab[:, :1] - options["l_cent"]) / options["l_norm"], lab[:, 1:] / options["ab_norm"]


def lab_to_image(light: torch.Tensor, ab: torch.Tensor, options: dict) -> torch.Tensor:
    """Normalised L and ab → sRGB in [0, 1] (clipped)."""
    lab = torch.cat([light * options["l_norm"] + options["l_cent"], ab * options["ab_norm"]], dim=1)
    return lab2rgb(lab).clamp(0.0, 1.0)


def colorization_inputs(rgb: torch.Tensor, options: dict,
                        generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """MMagic's ``get_colorization_data``: ``A`` (L), ``B`` (ab), ``hint_B`` (ab hints: the mean ab of
    P×P patches, P from ``sample_PS``, drawn while a uniform draw < 1 − p, placed N((H−P+1)/2, (H−P+1)/4)
    clipped) and ``mask_B`` (1 on the hints, minus ``mask_cent``)."""
    light, ab = normalized_lab(rgb, options)
    hint = torch.zeros_like(ab)
    mask = torch.zeros_like(light)
    sizes = list(options["sample_PS"])
    height, width = ab.shape[-2:]
    for index in range(ab.shape[0]):
        while float(torch.rand((), generator=generator)) < 1 - options["p"]:
            size = int(sizes[int(torch.randint(len(sizes), (), generator=generator))])
            top = int(min(max(float(torch.normal(torch.tensor((height - size + 1) / 2), (height - size + 1) / 4,
                                                 generator=generator)), 0), height - size))
            left = int(min(max(float(torch.normal(torch.tensor((width - size + 1) / 2), (width - size + 1) / 4,
                                                  generator=generator)), 0), width - size))
            patch = ab[index, :, top:top + size, left:left + size]
            hint[index, :, top:top + size, left:left + size] = patch.mean(dim=(1, 2), keepdim=True)
            mask[index, :, top:top + size, left:left + size] = 1
    return {"A": light, "B": ab, "hint_B": hint, "mask_B": mask - options["mask_cent"]}


__all__ = ["colorization_inputs", "lab2rgb", "lab_to_image", "normalized_lab", "rgb2lab"]
