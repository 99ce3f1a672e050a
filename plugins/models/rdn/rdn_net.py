"""``RDNNet`` (Zhang et al. 2018, Residual Dense Network) under MMagic 1.2.0's name, arguments and state-dict keys.

Two shallow convs (``sfe1``, ``sfe2``), ``num_blocks`` residual dense blocks
whose outputs are all concatenated and fused (``gff``: 1×1 then 3×3 conv) with
a global skip from ``sfe1``, pixel-shuffle upsampling (×2, ×3, ×4) and an
output conv. ``LIIFRDNNet`` reuses everything up to the fusion as its encoder.
"""
from __future__ import annotations

import torch
from torch import nn

from mgx.core.errors import ConfigError


class DenseLayer(nn.Module):
    """x -> concat(x, relu(conv3×3(x))): each layer adds ``out_channels`` channels."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.relu(self.conv(x))], 1)


class RDB(nn.Module):
    """Residual dense block: ``num_layers`` dense layers, a 1×1 local fusion (``lff``), a local skip."""

    def __init__(self, in_channels: int, channel_growth: int, num_layers: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(*(DenseLayer(in_channels + channel_growth * index, channel_growth)
                                      for index in range(num_layers)))
        self.lff = nn.Conv2d(in_channels + channel_growth * num_layers, in_channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.lff(self.layers(x))


def _upscale(mid_channels: int, factor: int) -> nn.Sequential:
    """×2 and ×4: one or two conv(4C)+PixelShuffle(2) steps; ×3: conv(9C)+PixelShuffle(3) (MMagic's indices)."""
    steps = [2] * (factor // 2) if factor in (2, 4) else [3]
    layers: list[nn.Module] = []
    for step in steps:
        layers += [nn.Conv2d(mid_channels, mid_channels * step ** 2, kernel_size=3, padding=1), nn.PixelShuffle(step)]
    return nn.Sequential(*layers)


def dense_features(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Everything before upsampling, for any module holding RDN's sfe1/sfe2/rdbs/gff (RDNNet, LIIFRDNNet):
    the fused dense-block features plus the shallow skip."""
    shallow = net.sfe1(x)
    feat = net.sfe2(shallow)
    local = []
    for block in net.rdbs:
        feat = block(feat)
        local.append(feat)
    return net.gff(torch.cat(local, 1)) + shallow


class RDNNet(nn.Module):
    """RDN (see the module docstring). ``upscale_factor`` must be 2, 3 or 4, as in MMagic."""

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int = 64, num_blocks: int = 16,
                 upscale_factor: int = 4, num_layers: int = 8, channel_growth: int = 64) -> None:
        super().__init__()
        if upscale_factor not in (2, 3, 4) or isinstance(upscale_factor, bool):
            raise ConfigError(f"RDNNet: upscale_factor must be 2, 3 or 4, got {upscale_factor!r}")
        self.mid_channels, self.num_blocks = mid_channels, num_blocks
        self.sfe1 = nn.Conv2d(in_channels, mid_channels, kernel_size=3, padding=1)
        self.sfe2 = nn.Conv2d(mid_channels, mid_channels, kernel_size=3, padding=1)
        self.rdbs = nn.ModuleList(RDB(mid_channels, channel_growth, num_layers) for _ in range(num_blocks))
        self.gff = nn.Sequential(nn.Conv2d(mid_channels * num_blocks, mid_channels, kernel_size=1),
                                 nn.Conv2d(mid_channels, mid_channels, kernel_size=3, padding=1))
        self.upscale = _upscale(mid_channels, upscale_factor)
        self.output = nn.Conv2d(mid_channels, out_channels, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.upscale(dense_features(self, x)))
