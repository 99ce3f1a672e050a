"""Swin-style window attention, shared by the transformer restoration families (SwinIR first).

Layout: tokens are B×H×W×C maps cut into non-overlapping ``window``×``window``
windows; attention runs inside each window with a learned bias per relative
offset (Swin's relative position bias). Shifted windows (SW-MSA) roll the map
by ``shift`` first and mask the token pairs that the roll brought together
from opposite borders.

Names and buffers follow Swin/SwinIR (``relative_position_bias_table``,
``relative_position_index``, ``qkv``, ``proj``), so their checkpoints load.
"""
from __future__ import annotations

import torch
from torch import nn

# What SwinIR adds to masked logits (not -inf: a fully masked row cannot happen, and -100 keeps it finite)
MASKED_LOGIT = -100.0


def window_partition(x: torch.Tensor, window: int) -> torch.Tensor:
    """B×H×W×C -> (B·nW)×window×window×C, windows in row-major order per image."""
    batch, height, width, channels = x.shape
    x = x.view(batch, height // window, window, width // window, window, channels)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window, window, channels)


def window_reverse(windows: torch.Tensor, window: int, height: int, width: int) -> torch.Tensor:
    """Inverse of ``window_partition``: (B·nW)×window×window×C -> B×H×W×C."""
    per_image = (height // window) * (width // window)
    batch = windows.shape[0] // per_image
    x = windows.view(batch, height // window, width // window, window, window, -1)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(batch, height, width, -1)


def relative_position_index(window_h: int, window_w: int) -> torch.Tensor:
    """(Wh·Ww)×(Wh·Ww) indices into the (2Wh-1)(2Ww-1)-row bias table: row offset major, column offset minor."""
    rows, cols = torch.meshgrid(torch.arange(window_h), torch.arange(window_w), indexing="ij")
    rows, cols = rows.flatten(), cols.flatten()
    d_row = rows[:, None] - rows[None, :] + window_h - 1
    d_col = cols[:, None] - cols[None, :] + window_w - 1
    return d_row * (2 * window_w - 1) + d_col


def shifted_window_mask(height: int, width: int, window: int, shift: int) -> torch.Tensor:
    """nW×(window²)×(window²) additive mask for SW-MSA on an H×W map rolled by -``shift``.

    After the roll, each axis has three bands (before ``-window``, the last
    window's unshifted part, the wrapped-around ``shift`` rows/cols); two tokens
    attend to each other only when they lie in the same band on both axes.
    """
    def bands(size: int) -> torch.Tensor:
        band = torch.zeros(size)
        band[size - window:size - shift] = 1
        band[size - shift:] = 2
        return band

    region = bands(height)[:, None] * 3 + bands(width)[None, :]
    windows = window_partition(region[None, :, :, None], window).reshape(-1, window * window)
    different = windows[:, None, :] != windows[:, :, None]
    return torch.zeros(different.shape).masked_fill(different, MASKED_LOGIT)


class WindowAttention(nn.Module):
    """Multi-head self-attention inside windows with a relative position bias (Swin's W-MSA).

    ``forward(x, mask)``: x is (B·nW)×N×C (N = Wh·Ww tokens per window); mask,
    when given, is nW×N×N and added to the logits of every image's windows.
    """

    def __init__(self, dim: int, window_size: tuple[int, int], num_heads: int, qkv_bias: bool = True,
                 qk_scale: float | None = None, attn_drop: float = 0.0, proj_drop: float = 0.0) -> None:
        super().__init__()
        self.dim, self.window_size, self.num_heads = dim, tuple(window_size), num_heads
        self.scale = qk_scale or (dim // num_heads) ** -0.5
        window_h, window_w = self.window_size
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * window_h - 1) * (2 * window_w - 1), num_heads))
        self.register_buffer("relative_position_index", relative_position_index(window_h, window_w))
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def position_bias(self) -> torch.Tensor:
        """heads×N×N bias gathered from the table."""
        tokens = self.window_size[0] * self.window_size[1]
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        return bias.view(tokens, tokens, -1).permute(2, 0, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        windows, tokens, channels = x.shape
        qkv = self.qkv(x).reshape(windows, tokens, 3, self.num_heads, channels // self.num_heads)
        query, key, value = qkv.permute(2, 0, 3, 1, 4)
        logits = (query * self.scale) @ key.transpose(-2, -1) + self.position_bias().unsqueeze(0)
        if mask is not None:
            per_image = mask.shape[0]
            logits = logits.view(windows // per_image, per_image, self.num_heads, tokens, tokens)
            logits = (logits + mask[None, :, None].to(logits.dtype)).view(windows, self.num_heads, tokens, tokens)
        attention = self.attn_drop(logits.softmax(dim=-1))
        out = (attention @ value).transpose(1, 2).reshape(windows, tokens, channels)
        return self.proj_drop(self.proj(out))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, window_size={self.window_size}, num_heads={self.num_heads}"


def drop_path(x: torch.Tensor, drop_prob: float, training: bool) -> torch.Tensor:
    """Stochastic depth: zero whole samples of a residual branch with ``drop_prob``, rescale the rest."""
    if drop_prob == 0.0 or not training:
        return x
    keep = 1.0 - drop_prob
    kept = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
    return x * kept / keep


class DropPath(nn.Module):
    """``drop_path`` as a module (no parameters)."""

    def __init__(self, drop_prob: float = 0.0) -> None:
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return drop_path(x, self.drop_prob, self.training)

    def extra_repr(self) -> str:
        return f"drop_prob={self.drop_prob:.3f}"
