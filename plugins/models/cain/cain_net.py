"""``CAINNet`` under MMagic's name, arguments and state-dict keys."""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError

from ..ops.sr_layers import pixel_unshuffle, stack


class ConvNormWithReflectionPad(nn.Module):
    """Reflection padding, a k×k conv with bias, and an optional instance/batch norm ('in'/'bn')."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, norm: str | None = None) -> None:
        super().__init__()
        self.reflection_pad = nn.ReflectionPad2d(kernel_size // 2)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=kernel_size, bias=True)
        if norm is None:
            self.norm = None
        elif isinstance(norm, str) and norm.lower() == "in":
            self.norm = nn.InstanceNorm2d(out_channels, track_running_stats=True)
        elif isinstance(norm, str) and norm.lower() == "bn":
            self.norm = nn.BatchNorm2d(out_channels)
        else:
            raise ConfigError(f"CAINNet: norm must be None, 'in' or 'bn', got {norm!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(self.reflection_pad(x))
        return self.norm(out) if self.norm is not None else out


class ChannelAttentionLayer(nn.Module):
    """x · sigmoid(W2 relu(W1 mean_hw(x))): squeeze-and-excitation with a ``reduction``-fold bottleneck."""

    def __init__(self, mid_channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.channel_attention = nn.Sequential(
            nn.Conv2d(mid_channels, mid_channels // reduction, 1, padding=0, bias=True), nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels // reduction, mid_channels, 1, padding=0, bias=True), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.channel_attention(self.avg_pool(x))


class ResidualChannelAttention(nn.Module):
    """x + CA(conv(act(conv(x))))."""

    def __init__(self, mid_channels: int, kernel_size: int = 3, reduction: int = 16, norm: str | None = None,
                 act: nn.Module | None = None) -> None:
        super().__init__()
        self.body = nn.Sequential(ConvNormWithReflectionPad(mid_channels, mid_channels, kernel_size, norm=norm),
                                  act if act is not None else nn.LeakyReLU(0.2, True),
                                  ConvNormWithReflectionPad(mid_channels, mid_channels, kernel_size, norm=norm),
                                  ChannelAttentionLayer(mid_channels, reduction))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + x


class ResidualGroup(nn.Module):
    """x + conv(``num_block_layers`` residual channel-attention blocks (x))."""

    def __init__(self, num_block_layers: int, mid_channels: int, kernel_size: int, reduction: int,
                 act: nn.Module, norm: str | None = None) -> None:
        super().__init__()
        self.body = stack(lambda: ResidualChannelAttention(mid_channels, kernel_size, reduction, norm, act),
                          num_block_layers)
        self.conv_after_body = ConvNormWithReflectionPad(mid_channels, mid_channels, kernel_size, norm=norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_after_body(self.body(x))


def padding_functions(x: torch.Tensor, padding: int = 7) -> tuple[Callable, Callable]:
    """Pad H and W up to multiples of 2^padding, split evenly (the extra pixel at the end); reflection,
    or replication when the pad is as large as the side. The second function removes the padding."""
    h, w = x.shape[-2:]
    multiple = 1 << padding
    pad_w, pad_h = (-w) % multiple, (-h) % multiple
    left, right, up, down = pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2
    mode = "replicate" if down >= h or right >= w else "reflect"

    def pad(tensor: torch.Tensor) -> torch.Tensor:
        return F.pad(tensor, (left, right, up, down), mode=mode) if pad_w or pad_h else tensor

    def depad(tensor: torch.Tensor) -> torch.Tensor:
        return tensor[..., up:tensor.shape[-2] - down, left:tensor.shape[-1] - right]

    return pad, depad


class CAINNet(nn.Module):
    """CAIN: both frames (mean-subtracted) pixel-unshuffled by 2^depth, a trunk of channel-attention
    residual groups at that resolution, pixel-shuffled back, plus the frames' mean. N×2×C×H×W -> N×C×H×W
    (H, W multiples of 2^depth; ``padding_flag`` pads them to multiples of 2^padding first).
    ``act``: the activation module (MMagic's default LeakyReLU(0.2))."""

    def __init__(self, in_channels: int = 3, kernel_size: int = 3, num_block_groups: int = 5,
                 num_block_layers: int = 12, depth: int = 3, reduction: int = 16, norm: str | None = None,
                 padding: int = 7, act: nn.Module | None = None, init_cfg: dict | None = None) -> None:
        super().__init__()
        if act is not None and not isinstance(act, nn.Module):
            raise ConfigError(f"CAINNet: act must be an activation module such as nn.LeakyReLU(0.2, True), "
                              f"got {act!r}")
        act = act if act is not None else nn.LeakyReLU(0.2, True)
        mid_channels = in_channels * 4 ** depth
        self.scale, self.padding = 2 ** depth, padding
        self.conv_first = nn.Conv2d(mid_channels * 2, mid_channels, kernel_size, 1, 1)
        self.body = stack(lambda: ResidualGroup(num_block_layers, mid_channels, kernel_size, reduction, act, norm),
                          num_block_groups)
        self.conv_last = nn.Conv2d(mid_channels, mid_channels, kernel_size, 1, 1)

    def forward(self, imgs: torch.Tensor, padding_flag: bool = False) -> torch.Tensor:
        if imgs.shape[1] != 2:
            raise ValueError(f"CAINNet interpolates between 2 frames, got {imgs.shape[1]}")
        x1, x2 = imgs[:, 0], imgs[:, 1]
        mean1, mean2 = x1.mean((2, 3), keepdim=True), x2.mean((2, 3), keepdim=True)
        x1, x2 = x1 - mean1, x2 - mean2
        depad = None
        if padding_flag:
            pad, depad = padding_functions(x1, self.padding)
            x1, x2 = pad(x1), pad(x2)
        x = self.conv_first(torch.cat([pixel_unshuffle(x1, self.scale), pixel_unshuffle(x2, self.scale)], dim=1))
        x = self.conv_last(self.body(x) + x)
        x = F.pixel_shuffle(x, self.scale)
        if depad is not None:
            x = depad(x)
        return x + (mean1 + mean2) / 2
