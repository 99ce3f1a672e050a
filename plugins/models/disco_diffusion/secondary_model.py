"""Katherine Crowson's secondary diffusion model (``SecondaryDiffusionImageNet2``): a small U-Net that
predicts v from a noisy image and its cosine-schedule time, from which disco diffusion takes a cheap
denoised estimate for CLIP. MMagic's layout and keys (``timestep_embed.weight``, ``net.*``)."""
from __future__ import annotations

import math

import torch
from torch import nn


def alpha_sigma_to_t(alpha: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """The cosine-schedule time in [0, 1] whose (cos, sin) of t·π/2 are (alpha, sigma)."""
    return torch.atan2(sigma, alpha) * 2 / math.pi


class _ConvBlock(nn.Sequential):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(inplace=True))


class _SkipBlock(nn.Module):
    """``main``'s output next to the input (channels concatenated)."""

    def __init__(self, main: list) -> None:
        super().__init__()
        self.main = nn.Sequential(*main)
        self.skip = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.main(x), self.skip(x)], dim=1)


class _FourierFeatures(nn.Module):
    def __init__(self, in_features: int, out_features: int, std: float = 1.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn([out_features // 2, in_features]) * std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = 2 * math.pi * x @ self.weight.T
        return torch.cat([f.cos(), f.sin()], dim=-1)


class SecondaryDiffusionImageNet2(nn.Module):
    """Five halvings of 64-128-128-256-256-512 channels and back, each level's input concatenated to its
    output; ``forward(x, t)`` → ``{'v', 'pred', 'eps'}`` with pred = x·cos − v·sin (sides: multiples of 32)."""

    def __init__(self) -> None:
        super().__init__()
        self.in_channels = 3
        c = 64
        cs = [c, c * 2, c * 2, c * 4, c * 4, c * 8]
        self.timestep_embed = _FourierFeatures(1, 16)
        down, up = nn.AvgPool2d(2), nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        inner: list = [down, _ConvBlock(cs[4], cs[5]), _ConvBlock(cs[5], cs[5]), _ConvBlock(cs[5], cs[5]),
                       _ConvBlock(cs[5], cs[4]), up]
        for level in (4, 3, 2, 1):  # wrapped from the inside out
            inner = [down, _ConvBlock(cs[level - 1], cs[level]), _ConvBlock(cs[level], cs[level]), _SkipBlock(inner),
                     _ConvBlock(cs[level] * 2, cs[level]), _ConvBlock(cs[level], cs[level - 1]), up]
        self.net = nn.Sequential(_ConvBlock(3 + 16, cs[0]), _ConvBlock(cs[0], cs[0]), _SkipBlock(inner),
                                 _ConvBlock(cs[0] * 2, cs[0]), nn.Conv2d(cs[0], 3, 3, padding=1))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> dict[str, torch.Tensor]:
        embed = self.timestep_embed(t[:, None])[:, :, None, None].repeat(1, 1, *x.shape[2:])
        v = self.net(torch.cat([x, embed], dim=1))
        alphas, sigmas = (value[:, None, None, None] for value in (torch.cos(t * math.pi / 2), torch.sin(t * math.pi / 2)))
        return {"v": v, "pred": x * alphas - v * sigmas, "eps": x * sigmas + v * alphas}
