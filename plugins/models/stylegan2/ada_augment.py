"""ADA's augmentation pipeline (Karras et al. 2020, "Training GANs with limited data") under MMagic's name
``AugmentPipe`` and arguments: every augmentation is applied per sample with probability
``multiplier · p`` (``p``, a buffer, is what ``ADAAug`` adapts).

* Geometric (one resampling for all of them): x-flip, 90° rotations, integer translation (``xint``),
  isotropic scaling, rotation (before and after anisotropic scaling, each with probability
  ``1 − sqrt(1 − rotate·p)``), anisotropic scaling, fractional translation. They compose an inverse
  homogeneous 2-D transform; the image is reflect-padded by the margin the transform needs, up-sampled
  ×2 with the 12-tap sym6 wavelet low-pass, sampled bilinearly through the transform
  (``affine_grid``/``grid_sample``, zeros outside) and low-passed and down-sampled ×2 back. This runs
  whenever one geometric multiplier is > 0, even when no sample draws a transform (as MMagic does).
* Colour (a 4×4 matrix on RGB): brightness (add), contrast (scale), luma flip (Householder reflection
  about the luma axis (1, 1, 1)/√3), hue (rotation about it), saturation (scale off it).
* Corruptions: additive RGB noise, cutout. (``imgfilter`` is not supported: no MMagic config enables it.)
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError

from ..ops.style_ops import upfirdn2d

# the sym6 symlet's low-pass decomposition filter (12 taps), the geometric resampling filter
SYM6 = (0.015404109327027373, 0.0034907120842174702, -0.11799011114819057, -0.048311742585633,
        0.4910559419267466, 0.787641141030194, 0.3379294217276218, -0.07263752278646252,
        -0.021060292512300564, 0.04472490177066578, 0.0017677118642428036, -0.007800708325034148)
# sym2 (4 taps): the image-space filter bank's band split (kept as MMagic's Hz_fbank buffer)
SYM2 = (-0.12940952255092145, 0.22414386804185735, 0.836516303737469, 0.48296291314469025)


def filter_bank() -> np.ndarray:
    """MMagic's ``Hz_fbank`` (4 bands × 31 taps) from sym2, for checkpoint compatibility."""
    low = np.asarray(SYM2)
    high = low * (-1.0) ** np.arange(low.size)
    low2, high2 = np.convolve(low, low[::-1]) / 2, np.convolve(high, high[::-1]) / 2
    bank = np.eye(4, 1)
    for band in range(1, 4):
        bank = np.dstack([bank, np.zeros_like(bank)]).reshape(bank.shape[0], -1)[:, :-1]
        bank = np.stack([np.convolve(row, low2) for row in bank])
        start = (bank.shape[1] - high2.size) // 2
        bank[band, start:start + high2.size] += high2
    return bank


def _matrix(rows: list[list], batch: int, device) -> torch.Tensor:
    """A batch of matrices; entries are numbers or per-sample tensors."""
    entries = [entry.float() if isinstance(entry, torch.Tensor) else torch.full((batch,), float(entry), device=device)
               for row in rows for entry in row]
    return torch.stack(entries, dim=-1).reshape(batch, len(rows), len(rows[0]))


def translate2d(tx, ty, batch: int, device) -> torch.Tensor:
    return _matrix([[1, 0, tx], [0, 1, ty], [0, 0, 1]], batch, device)


def scale2d(sx, sy, batch: int, device) -> torch.Tensor:
    return _matrix([[sx, 0, 0], [0, sy, 0], [0, 0, 1]], batch, device)


def rotate2d(theta: torch.Tensor, batch: int, device) -> torch.Tensor:
    return _matrix([[torch.cos(theta), -torch.sin(theta), 0], [torch.sin(theta), torch.cos(theta), 0], [0, 0, 1]],
                   batch, device)


GEOMETRIC = ("xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac")
COLOUR = ("brightness", "contrast", "lumaflip", "hue", "saturation")


class AugmentPipe(nn.Module):
    def __init__(self, xflip=0, rotate90=0, xint=0, xint_max=0.125, scale=0, rotate=0, aniso=0, xfrac=0,
                 scale_std=0.2, rotate_max=1, aniso_std=0.2, xfrac_std=0.125, brightness=0, contrast=0, lumaflip=0,
                 hue=0, saturation=0, brightness_std=0.2, contrast_std=0.5, hue_max=1, saturation_std=1,
                 imgfilter=0, imgfilter_bands=(1, 1, 1, 1), imgfilter_std=1, noise=0, cutout=0, noise_std=0.1,
                 cutout_size=0.5) -> None:
        super().__init__()
        if imgfilter:
            raise ConfigError("AugmentPipe: imgfilter is not supported (no MMagic config enables it); set it to 0")
        settings = dict(locals())
        for name in ("self", "__class__", "imgfilter_bands"):
            settings.pop(name, None)
        for name, value in settings.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"AugmentPipe: {name} must be a number ≥ 0, got {value!r}")
            setattr(self, name, float(value))
        self.imgfilter_bands = list(imgfilter_bands)
        self.register_buffer("p", torch.ones(()))
        taps = torch.tensor(SYM6, dtype=torch.float64)
        self.register_buffer("Hz_geom", (taps / taps.sum()).float())
        self.register_buffer("Hz_fbank", torch.as_tensor(filter_bank(), dtype=torch.float32))

    def _chosen(self, multiplier: float, shape: tuple, device) -> torch.Tensor:
        return torch.rand(shape, device=device) < multiplier * self.p

    def geometric_inverse(self, batch: int, height: int, width: int, device) -> torch.Tensor:
        """The per-sample inverse transform (output pixel -> input pixel), drawn as MMagic draws it."""
        inverse = torch.eye(3, device=device).expand(batch, 3, 3)
        if self.xflip > 0:
            flip = torch.floor(torch.rand(batch, device=device) * 2)
            flip = torch.where(self._chosen(self.xflip, (batch,), device), flip, torch.zeros_like(flip))
            inverse = inverse @ scale2d(1 / (1 - 2 * flip), 1, batch, device)
        if self.rotate90 > 0:
            quarter = torch.floor(torch.rand(batch, device=device) * 4)
            quarter = torch.where(self._chosen(self.rotate90, (batch,), device), quarter, torch.zeros_like(quarter))
            inverse = inverse @ rotate2d(math.pi / 2 * quarter, batch, device)
        if self.xint > 0:
            shift = (torch.rand(batch, 2, device=device) * 2 - 1) * self.xint_max
            shift = torch.where(self._chosen(self.xint, (batch, 1), device), shift, torch.zeros_like(shift))
            inverse = inverse @ translate2d(-torch.round(shift[:, 0] * width), -torch.round(shift[:, 1] * height),
                                            batch, device)
        if self.scale > 0:
            factor = torch.exp2(torch.randn(batch, device=device) * self.scale_std)
            factor = torch.where(self._chosen(self.scale, (batch,), device), factor, torch.ones_like(factor))
            inverse = inverse @ scale2d(1 / factor, 1 / factor, batch, device)
        rotate_p = 1 - torch.sqrt((1 - self.rotate * self.p).clamp(0, 1))  # P(before or after) = rotate·p
        if self.rotate > 0:
            inverse = inverse @ rotate2d(self._rotation(batch, rotate_p, device), batch, device)
        if self.aniso > 0:
            factor = torch.exp2(torch.randn(batch, device=device) * self.aniso_std)
            factor = torch.where(self._chosen(self.aniso, (batch,), device), factor, torch.ones_like(factor))
            inverse = inverse @ scale2d(1 / factor, factor, batch, device)
        if self.rotate > 0:
            inverse = inverse @ rotate2d(self._rotation(batch, rotate_p, device), batch, device)
        if self.xfrac > 0:
            shift = torch.randn(batch, 2, device=device) * self.xfrac_std
            shift = torch.where(self._chosen(self.xfrac, (batch, 1), device), shift, torch.zeros_like(shift))
            inverse = inverse @ translate2d(-shift[:, 0] * width, -shift[:, 1] * height, batch, device)
        return inverse

    def _rotation(self, batch: int, probability: torch.Tensor, device) -> torch.Tensor:
        """The angle of the *inverse* rotation (MMagic draws θ and applies rotate2d_inv(−θ) = rotate2d(θ))."""
        theta = (torch.rand(batch, device=device) * 2 - 1) * math.pi * self.rotate_max
        return torch.where(torch.rand(batch, device=device) < probability, theta, torch.zeros_like(theta))

    def resample(self, images: torch.Tensor, inverse: torch.Tensor) -> torch.Tensor:
        """``images`` through the inverse transform ``inverse`` (pixel coordinates, centre origin)."""
        batch, channels, height, width = images.shape
        device = images.device
        cx, cy = (width - 1) / 2, (height - 1) / 2
        corners = torch.tensor([[-cx, -cy, 1], [cx, -cy, 1], [cx, cy, 1], [-cx, cy, 1]], device=device)
        corners = inverse @ corners.t()  # batch × xyz × corner
        pad = self.Hz_geom.shape[0] // 4
        reach = corners[:, :2, :].permute(1, 0, 2).flatten(1)
        margin = torch.cat([-reach, reach]).max(dim=1).values
        margin = margin + torch.tensor([pad * 2 - cx, pad * 2 - cy] * 2, device=device)
        margin = margin.max(torch.zeros(4, device=device)).min(
            torch.tensor([width - 1, height - 1] * 2, device=device, dtype=margin.dtype))
        mx0, my0, mx1, my1 = (int(v) for v in margin.ceil().tolist())
        images = F.pad(images, [mx0, mx1, my0, my1], mode="reflect")
        inverse = translate2d((mx0 - mx1) / 2, (my0 - my1) / 2, batch, device) @ inverse
        taps = len(SYM6)
        kernel = self.Hz_geom[:, None] * self.Hz_geom[None, :]
        images = upfirdn2d(images, kernel * 4, up=2, pad=((taps + 1) // 2, (taps - 2) // 2))
        up2, shift = scale2d(2, 2, batch, device), translate2d(-0.5, -0.5, batch, device)
        inverse = shift @ up2 @ inverse @ torch.linalg.inv(up2) @ torch.linalg.inv(shift)
        out_shape = [batch, channels, (height + pad * 2) * 2, (width + pad * 2) * 2]
        to_unit = scale2d(2 / images.shape[3], 2 / images.shape[2], batch, device)
        from_unit = scale2d(out_shape[3] / 2, out_shape[2] / 2, batch, device)
        inverse = to_unit @ inverse @ from_unit
        grid = F.affine_grid(inverse[:, :2, :].to(images.dtype), out_shape, align_corners=False)
        images = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        # the down-sampling filter is applied as a correlation (MMagic's flip_filter=True)
        return upfirdn2d(images, kernel.flip(0, 1), down=2, pad=(-pad * 2 + (taps - 1) // 2, -pad * 2 + (taps - 2) // 2))

    def colour_matrix(self, batch: int, device) -> torch.Tensor:
        """The per-sample 4×4 colour transform, drawn as MMagic draws it."""
        identity = torch.eye(4, device=device)
        colour = identity.expand(batch, 4, 4)
        if self.brightness > 0:
            shift = torch.randn(batch, device=device) * self.brightness_std
            shift = torch.where(self._chosen(self.brightness, (batch,), device), shift, torch.zeros_like(shift))
            colour = _matrix([[1, 0, 0, shift], [0, 1, 0, shift], [0, 0, 1, shift], [0, 0, 0, 1]], batch, device) @ colour
        if self.contrast > 0:
            factor = torch.exp2(torch.randn(batch, device=device) * self.contrast_std)
            factor = torch.where(self._chosen(self.contrast, (batch,), device), factor, torch.ones_like(factor))
            colour = _matrix([[factor, 0, 0, 0], [0, factor, 0, 0], [0, 0, factor, 0], [0, 0, 0, 1]], batch,
                             device) @ colour
        luma = torch.tensor([1.0, 1.0, 1.0, 0.0], device=device) / math.sqrt(3)
        luma_outer = torch.outer(luma, luma)
        if self.lumaflip > 0:
            flip = torch.floor(torch.rand(batch, 1, 1, device=device) * 2)
            flip = torch.where(self._chosen(self.lumaflip, (batch, 1, 1), device), flip, torch.zeros_like(flip))
            colour = (identity - 2 * luma_outer * flip) @ colour
        if self.hue > 0:
            theta = (torch.rand(batch, device=device) * 2 - 1) * math.pi * self.hue_max
            theta = torch.where(self._chosen(self.hue, (batch,), device), theta, torch.zeros_like(theta))
            colour = rotation_about(luma[:3], theta) @ colour
        if self.saturation > 0:
            factor = torch.exp2(torch.randn(batch, 1, 1, device=device) * self.saturation_std)
            factor = torch.where(self._chosen(self.saturation, (batch, 1, 1), device), factor, torch.ones_like(factor))
            colour = (luma_outer + (identity - luma_outer) * factor) @ colour
        return colour

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.dim() != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"AugmentPipe: images must be N×3×H×W or N×1×H×W, got {tuple(images.shape)}")
        batch, channels, height, width = images.shape
        device = images.device
        if any(getattr(self, name) > 0 for name in GEOMETRIC):
            images = self.resample(images, self.geometric_inverse(batch, height, width, device))
        if any(getattr(self, name) > 0 for name in COLOUR):
            colour = self.colour_matrix(batch, device).to(images.dtype)
            flat = images.reshape(batch, channels, height * width)
            if channels == 3:
                flat = colour[:, :3, :3] @ flat + colour[:, :3, 3:]
            else:
                rows = colour[:, :3, :].mean(dim=1, keepdim=True)
                flat = flat * rows[:, :, :3].sum(dim=2, keepdim=True) + rows[:, :, 3:]
            images = flat.reshape(batch, channels, height, width)
        return self._corrupt(images)

    def _corrupt(self, images: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = images.shape
        device = images.device
        if self.noise > 0:
            sigma = torch.randn(batch, 1, 1, 1, device=device).abs() * self.noise_std
            sigma = torch.where(self._chosen(self.noise, (batch, 1, 1, 1), device), sigma, torch.zeros_like(sigma))
            images = images + torch.randn(batch, channels, height, width, device=device) * sigma
        if self.cutout > 0:
            size = torch.full((batch, 2, 1, 1, 1), self.cutout_size, device=device)
            size = torch.where(self._chosen(self.cutout, (batch, 1, 1, 1, 1), device), size, torch.zeros_like(size))
            centre = torch.rand(batch, 2, 1, 1, 1, device=device)
            xs = torch.arange(width, device=device).reshape(1, 1, 1, -1)
            ys = torch.arange(height, device=device).reshape(1, 1, -1, 1)
            outside = (((xs + 0.5) / width - centre[:, 0]).abs() >= size[:, 0] / 2) | \
                      (((ys + 0.5) / height - centre[:, 1]).abs() >= size[:, 1] / 2)
            images = images * outside.to(images.dtype)
        return images


def rotation_about(axis: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """4×4 rotations by ``theta`` (per sample) about the unit 3-vector ``axis`` (Rodrigues)."""
    x, y, z = (float(v) for v in axis)
    s, c = torch.sin(theta), torch.cos(theta)
    cc = 1 - c
    batch, device = theta.shape[0], theta.device
    return _matrix([[x * x * cc + c, x * y * cc - z * s, x * z * cc + y * s, 0],
                    [y * x * cc + z * s, y * y * cc + c, y * z * cc - x * s, 0],
                    [z * x * cc - y * s, z * y * cc + x * s, z * z * cc + c, 0], [0, 0, 0, 1]], batch, device)


__all__ = ["AugmentPipe", "filter_bank", "rotation_about"]
