"""``TTSRDiscriminator`` (MMagic's name, arguments and state-dict keys): five pairs of 3×3 convs
(the second of each with stride 2; 32 to 512 channels; LeakyReLU 0.2), then two linear layers on
the flattened in_size/32 × in_size/32 × 512 map."""
from __future__ import annotations

import torch
from torch import nn

from mgx.core.errors import ConfigError, MgxError


class TTSRDiscriminator(nn.Module):
    def __init__(self, in_channels: int = 3, in_size: int = 160, init_cfg: dict | None = None) -> None:
        super().__init__()
        if in_size < 32 or in_size % 32:
            raise ConfigError(f"TTSRDiscriminator: in_size must be a multiple of 32 (five stride-2 convs), "
                              f"got {in_size}")
        self.in_size = in_size
        layers: list[nn.Module] = []
        channels = in_channels
        for width in (32, 64, 128, 256, 512):
            layers += [nn.Conv2d(channels, width, 3, 1, 1), nn.LeakyReLU(0.2),
                       nn.Conv2d(width, width, 3, 2, 1), nn.LeakyReLU(0.2)]
            channels = width
        self.body = nn.Sequential(*layers)
        self.last = nn.Sequential(nn.Linear((in_size // 32) ** 2 * 512, 1024), nn.LeakyReLU(0.2), nn.Linear(1024, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != (self.in_size, self.in_size):
            raise MgxError(f"TTSRDiscriminator: images are {tuple(x.shape[-2:])} but in_size is {self.in_size}; "
                           f"set model.discriminator.in_size to the training crop's side")
        return self.last(self.body(x).flatten(1))
