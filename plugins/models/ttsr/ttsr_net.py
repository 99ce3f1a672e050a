"""``TTSRNet`` (MMagic's name, arguments and state-dict keys): the main network of TTSR (Yang et al.
2020, "Learning Texture Transformer Network for Image Super-Resolution"), ×4 only.

It encodes the low-resolution input (``sfe``), mixes in the transferred reference textures at ×1,
×2 and ×4 (each weighted by the soft attention), exchanges features between the scales (``csfi2``,
``csfi3``: cross-scale feature integration) and merges them into the output in [-1, 1].
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError

from ..ops.sr_layers import PixelShufflePack, ResidualBlockNoBN, stack


def _conv3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, stride, 1)


def _conv1(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 1, 1, 0)


def _up(x: torch.Tensor, factor: int) -> torch.Tensor:
    return F.interpolate(x, scale_factor=factor, mode="bicubic", align_corners=False)


def _res_blocks(mid_channels: int, count: int, res_scale: float) -> nn.Sequential:
    return stack(lambda: ResidualBlockNoBN(mid_channels, res_scale), count)


class SFE(nn.Module):
    """Structural feature encoder: relu(conv) -> residual blocks -> conv, plus the first features."""

    def __init__(self, in_channels: int, mid_channels: int, num_blocks: int, res_scale: float) -> None:
        super().__init__()
        self.num_blocks = num_blocks
        self.conv_first = _conv3(in_channels, mid_channels)
        self.body = _res_blocks(mid_channels, num_blocks, res_scale)
        self.conv_last = _conv3(mid_channels, mid_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first = F.relu(self.conv_first(x))
        return self.conv_last(self.body(first)) + first


class CSFI2(nn.Module):
    """Cross-scale feature integration of ×1 and ×2 features (``convAtoB`` maps scale A to scale B:
    down by a stride-2 conv, up by bicubic interpolation then a 1×1 conv)."""

    def __init__(self, mid_channels: int) -> None:
        super().__init__()
        self.conv1to2 = _conv1(mid_channels, mid_channels)
        self.conv2to1 = _conv3(mid_channels, mid_channels, stride=2)
        self.conv_merge1 = _conv3(mid_channels * 2, mid_channels)
        self.conv_merge2 = _conv3(mid_channels * 2, mid_channels)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x12 = F.relu(self.conv1to2(_up(x1, 2)))
        x21 = F.relu(self.conv2to1(x2))
        return (F.relu(self.conv_merge1(torch.cat((x1, x21), dim=1))),
                F.relu(self.conv_merge2(torch.cat((x2, x12), dim=1))))


class CSFI3(nn.Module):
    """Cross-scale feature integration of ×1, ×2 and ×4 features (named as in ``CSFI2``)."""

    def __init__(self, mid_channels: int) -> None:
        super().__init__()
        self.conv1to2 = _conv1(mid_channels, mid_channels)
        self.conv1to4 = _conv1(mid_channels, mid_channels)
        self.conv2to1 = _conv3(mid_channels, mid_channels, stride=2)
        self.conv2to4 = _conv1(mid_channels, mid_channels)
        self.conv4to1_1 = _conv3(mid_channels, mid_channels, stride=2)
        self.conv4to1_2 = _conv3(mid_channels, mid_channels, stride=2)
        self.conv4to2 = _conv3(mid_channels, mid_channels, stride=2)
        self.conv_merge1 = _conv3(mid_channels * 3, mid_channels)
        self.conv_merge2 = _conv3(mid_channels * 3, mid_channels)
        self.conv_merge4 = _conv3(mid_channels * 3, mid_channels)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor,
                x4: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x12 = F.relu(self.conv1to2(_up(x1, 2)))
        x14 = F.relu(self.conv1to4(_up(x1, 4)))
        x21 = F.relu(self.conv2to1(x2))
        x24 = F.relu(self.conv2to4(_up(x2, 2)))
        x41 = F.relu(self.conv4to1_2(F.relu(self.conv4to1_1(x4))))
        x42 = F.relu(self.conv4to2(x4))
        return (F.relu(self.conv_merge1(torch.cat((x1, x21, x41), dim=1))),
                F.relu(self.conv_merge2(torch.cat((x2, x12, x42), dim=1))),
                F.relu(self.conv_merge4(torch.cat((x4, x14, x24), dim=1))))


class MergeFeatures(nn.Module):
    """The ×1 and ×2 features brought to ×4 and merged with the ×4 ones into the image, clamped to [-1, 1]."""

    def __init__(self, mid_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1to4 = _conv1(mid_channels, mid_channels)
        self.conv2to4 = _conv1(mid_channels, mid_channels)
        self.conv_merge = _conv3(mid_channels * 3, mid_channels)
        self.conv_last1 = _conv3(mid_channels, mid_channels // 2)
        self.conv_last2 = _conv1(mid_channels // 2, out_channels)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, x4: torch.Tensor) -> torch.Tensor:
        x14 = F.relu(self.conv1to4(_up(x1, 4)))
        x24 = F.relu(self.conv2to4(_up(x2, 2)))
        merged = F.relu(self.conv_merge(torch.cat((x4, x14, x24), dim=1)))
        return torch.clamp(self.conv_last2(self.conv_last1(merged)), -1, 1)


class TTSRNet(nn.Module):
    """``num_blocks``: residual blocks of the encoder, the ×1 trunk, each ×2 branch and each ×4 branch."""

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int = 64, texture_channels: int = 64,
                 num_blocks: Sequence[int] = (16, 16, 8, 4), res_scale: float = 1.0,
                 init_cfg: dict | None = None) -> None:
        super().__init__()
        if len(num_blocks) != 4:
            raise ConfigError(f"TTSRNet: num_blocks must give 4 block counts (encoder, ×1, ×2, ×4), got {num_blocks!r}")
        self.texture_channels = texture_channels
        enc, n1, n2, n4 = (int(n) for n in num_blocks)
        self.sfe = SFE(in_channels, mid_channels, enc, res_scale)
        # ×1: the encoder's features with the level-3 textures (4 × texture_channels: VGG's relu3_1)
        self.conv_first1 = _conv3(4 * texture_channels + mid_channels, mid_channels)
        self.res_block1 = _res_blocks(mid_channels, n1, res_scale)
        self.conv_last1 = _conv3(mid_channels, mid_channels)
        self.up1 = PixelShufflePack(mid_channels, mid_channels, 2, upsample_kernel=3)
        # ×2
        self.conv_first2 = _conv3(2 * texture_channels + mid_channels, mid_channels)
        self.csfi2 = CSFI2(mid_channels)
        self.res_block2_1 = _res_blocks(mid_channels, n2, res_scale)
        self.res_block2_2 = _res_blocks(mid_channels, n2, res_scale)
        self.conv_last2_1 = _conv3(mid_channels, mid_channels)
        self.conv_last2_2 = _conv3(mid_channels, mid_channels)
        self.up2 = PixelShufflePack(mid_channels, mid_channels, 2, upsample_kernel=3)
        # ×4
        self.conv_first3 = _conv3(texture_channels + mid_channels, mid_channels)
        self.csfi3 = CSFI3(mid_channels)
        for index in (1, 2, 3):
            setattr(self, f"res_block3_{index}", _res_blocks(mid_channels, n4, res_scale))
        for index in (1, 2, 3):
            setattr(self, f"conv_last3_{index}", _conv3(mid_channels, mid_channels))
        self.merge_features = MergeFeatures(mid_channels, out_channels)

    def forward(self, x: torch.Tensor, soft_attention: torch.Tensor,
                textures: Sequence[torch.Tensor]) -> torch.Tensor:
        """``x`` N×C×h×w; ``soft_attention`` N×1×h×w; ``textures`` the transferred textures at ×1, ×2, ×4
        (4·T, 2·T and T channels, T = ``texture_channels``). Returns N×out×4h×4w."""
        if textures[-1].shape[1] != self.texture_channels:
            raise ConfigError(f"TTSRNet: the ×4 textures have {textures[-1].shape[1]} channels but texture_channels "
                              f"is {self.texture_channels}")
        x1 = self.sfe(x)
        x1 = x1 + self.conv_first1(torch.cat((x1, textures[0]), dim=1)) * soft_attention
        x1 = x1 + self.conv_last1(self.res_block1(x1))

        x2 = F.relu(self.up1(x1))
        x2 = x2 + self.conv_first2(torch.cat((x2, textures[1]), dim=1)) * _up(soft_attention, 2)
        x1_res, x2_res = self.csfi2(x1, x2)
        x1 = x1 + self.conv_last2_1(self.res_block2_1(x1_res))
        x2 = x2 + self.conv_last2_2(self.res_block2_2(x2_res))

        x4 = F.relu(self.up2(x2))
        x4 = x4 + self.conv_first3(torch.cat((x4, textures[2]), dim=1)) * _up(soft_attention, 4)
        residuals = self.csfi3(x1, x2, x4)
        x1, x2, x4 = (x + getattr(self, f"conv_last3_{i}")(getattr(self, f"res_block3_{i}")(res))
                      for i, (x, res) in enumerate(zip((x1, x2, x4), residuals), start=1))
        return self.merge_features(x1, x2, x4)
