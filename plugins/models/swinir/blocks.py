"""SwinIR's building blocks under MMagic 1.2.0's names: SwinTransformerBlock, BasicLayer, RSTB,
the two pixel-shuffle upsamplers. Tokens travel as B×(H·W)×C sequences between blocks."""
from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
from torch import nn
from torch.utils import checkpoint

from mgx.core.errors import ConfigError

from ..ops.window_attention import DropPath, WindowAttention, shifted_window_mask, window_partition, window_reverse


def to_map(tokens: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """B×(H·W)×C -> B×C×H×W."""
    return tokens.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], *size)


def to_tokens(image: torch.Tensor) -> torch.Tensor:
    """B×C×H×W -> B×(H·W)×C."""
    return image.flatten(2).transpose(1, 2)


class Mlp(nn.Module):
    """fc1 - GELU - dropout - fc2 - dropout."""

    def __init__(self, in_features: int, hidden_features: int, drop: float = 0.0) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_features, in_features)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class SwinTransformerBlock(nn.Module):
    """LayerNorm - (shifted) window attention - residual, LayerNorm - MLP - residual.

    ``input_resolution`` is the training size (the stored ``attn_mask`` is for
    it, as in SwinIR's checkpoints); other sizes get their mask computed on the
    fly. A resolution not larger than the window shrinks the window to it and
    turns shifting off (SwinIR's rule).
    """

    def __init__(self, dim: int, input_resolution: tuple[int, int], num_heads: int, window_size: int = 7,
                 shift_size: int = 0, mlp_ratio: float = 4.0, qkv_bias: bool = True, qk_scale: float | None = None,
                 drop: float = 0.0, attn_drop: float = 0.0, drop_path: float = 0.0,
                 norm_layer: Callable[[int], nn.Module] = nn.LayerNorm) -> None:
        super().__init__()
        self.input_resolution = tuple(input_resolution)
        if min(self.input_resolution) <= window_size:
            window_size, shift_size = min(self.input_resolution), 0
        if not 0 <= shift_size < window_size:
            raise ConfigError(f"SwinIRNet: shift size {shift_size} must lie in [0, window_size={window_size})")
        self.window_size, self.shift_size = window_size, shift_size
        self.norm1 = norm_layer(dim)
        self.attn = WindowAttention(dim, (window_size, window_size), num_heads, qkv_bias, qk_scale, attn_drop, drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.norm2 = norm_layer(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop)
        mask = shifted_window_mask(*self.input_resolution, window_size, shift_size) if shift_size else None
        self.register_buffer("attn_mask", mask)

    def mask_for(self, size: tuple[int, int], device: torch.device) -> torch.Tensor | None:
        if not self.shift_size:
            return None
        if tuple(size) == self.input_resolution:
            return self.attn_mask
        return shifted_window_mask(*size, self.window_size, self.shift_size).to(device)

    def forward(self, x: torch.Tensor, x_size: tuple[int, int]) -> torch.Tensor:
        height, width = x_size
        batch, _, channels = x.shape
        window, shift = self.window_size, self.shift_size
        image = self.norm1(x).view(batch, height, width, channels)
        if shift:
            image = torch.roll(image, shifts=(-shift, -shift), dims=(1, 2))
        windows = window_partition(image, window).view(-1, window * window, channels)
        windows = self.attn(windows, mask=self.mask_for(x_size, x.device))
        image = window_reverse(windows.view(-1, window, window, channels), window, height, width)
        if shift:
            image = torch.roll(image, shifts=(shift, shift), dims=(1, 2))
        x = x + self.drop_path(image.reshape(batch, height * width, channels))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class BasicLayer(nn.Module):
    """``depth`` Swin blocks, every second one shifted by half a window."""

    def __init__(self, dim: int, input_resolution: tuple[int, int], depth: int, num_heads: int, window_size: int,
                 mlp_ratio: float, qkv_bias: bool, qk_scale: float | None, drop: float, attn_drop: float,
                 drop_path: Sequence[float], norm_layer: Callable[[int], nn.Module],
                 use_checkpoint: bool = False) -> None:
        super().__init__()
        self.use_checkpoint = use_checkpoint
        self.blocks = nn.ModuleList(
            SwinTransformerBlock(dim, input_resolution, num_heads, window_size,
                                 0 if index % 2 == 0 else window_size // 2, mlp_ratio, qkv_bias, qk_scale, drop,
                                 attn_drop, drop_path[index], norm_layer)
            for index in range(depth))

    def forward(self, x: torch.Tensor, x_size: tuple[int, int]) -> torch.Tensor:
        for block in self.blocks:
            if self.use_checkpoint and x.requires_grad:
                x = checkpoint.checkpoint(block, x, x_size, use_reentrant=False)
            else:
                x = block(x, x_size)
        return x


def residual_conv(dim: int, resi_connection: str) -> nn.Module:
    """The conv closing a residual group: one 3×3 ('1conv') or a 4× bottleneck of three ('3conv')."""
    if resi_connection == "1conv":
        return nn.Conv2d(dim, dim, 3, 1, 1)
    if resi_connection == "3conv":
        return nn.Sequential(nn.Conv2d(dim, dim // 4, 3, 1, 1), nn.LeakyReLU(0.2, inplace=True),
                             nn.Conv2d(dim // 4, dim // 4, 1, 1, 0), nn.LeakyReLU(0.2, inplace=True),
                             nn.Conv2d(dim // 4, dim, 3, 1, 1))
    raise ConfigError(f"SwinIRNet: resi_connection must be '1conv' or '3conv', got {resi_connection!r}")


class RSTB(nn.Module):
    """Residual Swin Transformer Block: x + tokens(conv(map(BasicLayer(x))))."""

    def __init__(self, dim: int, input_resolution: tuple[int, int], depth: int, num_heads: int, window_size: int,
                 mlp_ratio: float, qkv_bias: bool, qk_scale: float | None, drop: float, attn_drop: float,
                 drop_path: Sequence[float], norm_layer: Callable[[int], nn.Module], use_checkpoint: bool,
                 resi_connection: str) -> None:
        super().__init__()
        self.residual_group = BasicLayer(dim, input_resolution, depth, num_heads, window_size, mlp_ratio, qkv_bias,
                                         qk_scale, drop, attn_drop, drop_path, norm_layer, use_checkpoint)
        self.conv = residual_conv(dim, resi_connection)

    def forward(self, x: torch.Tensor, x_size: tuple[int, int]) -> torch.Tensor:
        return to_tokens(self.conv(to_map(self.residual_group(x, x_size), x_size))) + x


class Upsample(nn.Sequential):
    """conv(4·C) + PixelShuffle(2) per factor of 2, or conv(9·C) + PixelShuffle(3)."""

    def __init__(self, scale: int, num_feat: int) -> None:
        layers: list[nn.Module] = []
        if scale >= 2 and scale & (scale - 1) == 0:
            for _ in range(int(math.log2(scale))):
                layers += [nn.Conv2d(num_feat, 4 * num_feat, 3, 1, 1), nn.PixelShuffle(2)]
        elif scale == 3:
            layers += [nn.Conv2d(num_feat, 9 * num_feat, 3, 1, 1), nn.PixelShuffle(3)]
        else:
            raise ConfigError(f"SwinIRNet: upscale={scale} is not supported by upsampler='pixelshuffle'; "
                              f"use 2^n or 3")
        super().__init__(*layers)


class UpsampleOneStep(nn.Sequential):
    """One conv to out_ch·s² channels + PixelShuffle(s) (lightweight SR)."""

    def __init__(self, scale: int, num_feat: int, num_out_ch: int) -> None:
        super().__init__(nn.Conv2d(num_feat, scale ** 2 * num_out_ch, 3, 1, 1), nn.PixelShuffle(scale))
