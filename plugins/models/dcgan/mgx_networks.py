"""mgx's own DCGAN networks (``DCGAN(latent_dim=..., image_size=..., ...)``): a
``net`` Sequential each, DCGAN-paper initialisation, LeakyReLU(0.2) discriminator."""
from __future__ import annotations

import math

import torch
from torch import nn

from mgx.core.errors import ConfigError


def _stages(image_size: int) -> int:
    """Number of ×2 up/down-sampling stages between 4×4 and ``image_size``."""
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 8 \
            or 2 ** round(math.log2(image_size)) != image_size:
        raise ConfigError(f"DCGAN: image_size must be a power of two ≥ 8 (e.g. 32, 64), got {image_size!r}")
    return int(math.log2(image_size)) - 2


def init_dcgan_weights(module: nn.Module) -> None:
    # The DCGAN paper's initialisation: N(0, 0.02) convs, N(1, 0.02) BatchNorm scales.
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class MgxDCGANGenerator(nn.Module):
    """z (N×latent_dim) -> image N×channels×S×S in [-1, 1]."""

    def __init__(self, latent_dim: int, image_size: int, channels: int, base_channels: int) -> None:
        super().__init__()
        stages = _stages(image_size)
        width = base_channels * 2 ** (stages - 1)
        layers: list[nn.Module] = [nn.ConvTranspose2d(latent_dim, width, 4, 1, 0, bias=False),
                                   nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
        for _ in range(stages - 1):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(width // 2), nn.ReLU(inplace=True)]
            width //= 2
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.latent_dim = latent_dim

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.reshape(z.shape[0], self.latent_dim, 1, 1))


class MgxDCGANDiscriminator(nn.Module):
    """image N×channels×S×S in [-1, 1] -> one real/fake logit per image (N,)."""

    def __init__(self, image_size: int, channels: int, base_channels: int) -> None:
        super().__init__()
        stages = _stages(image_size)
        layers: list[nn.Module] = [nn.Conv2d(channels, base_channels, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        width = base_channels
        for _ in range(stages - 1):
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width * 2),
                       nn.LeakyReLU(0.2, inplace=True)]
            width *= 2
        layers += [nn.Conv2d(width, 1, 4, 1, 0)]
        self.net = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images).reshape(images.shape[0])


__all__ = ["MgxDCGANDiscriminator", "MgxDCGANGenerator", "init_dcgan_weights"]
