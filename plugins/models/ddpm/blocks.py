"""The layers of MMagic's ``DenoisingUnet`` (improved/guided diffusion's U-Net), with MMagic's attribute
names so that its state-dict keys (and OpenAI's checkpoints as MMagic converted them) are mgx's."""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError


class GroupNorm32(nn.GroupNorm):
    """MMagic's ``GN32``: group norm computed in float32 (or float64), returned in the input's dtype."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        wide = x if x.dtype == torch.float64 else x.float()
        return super().forward(wide).type(x.dtype)


def build_norm(norm_cfg: Any, channels: int, who: str) -> nn.Module:
    """``dict(type='GN32'|'GN', num_groups=32)`` as MMCV's ``build_norm_layer`` builds it (eps 1e-5)."""
    if not isinstance(norm_cfg, dict) or norm_cfg.get("type") not in ("GN32", "GN"):
        raise ConfigError(f"{who}: norm_cfg must be dict(type='GN32' or 'GN', num_groups=...), got {norm_cfg!r}")
    groups = int(norm_cfg.get("num_groups", 32))
    if channels % groups:
        raise ConfigError(f"{who}: {channels} channels are not divisible into norm_cfg.num_groups={groups} groups")
    norm_class = GroupNorm32 if norm_cfg["type"] == "GN32" else nn.GroupNorm
    return norm_class(groups, channels, eps=float(norm_cfg.get("eps", 1e-5)))


def build_activation(act_cfg: Any, who: str) -> nn.Module:
    if not isinstance(act_cfg, dict) or act_cfg.get("type") != "SiLU":
        raise ConfigError(f"{who}: act_cfg must be dict(type='SiLU'), got {act_cfg!r}")
    return nn.SiLU()


def sinusoidal_embedding(timesteps: torch.Tensor, dim: int, max_period: float = 10000) -> torch.Tensor:
    """[cos(t·f), sin(t·f)] with frequencies f_i = max_period^(-i/half), i < half = dim // 2 (zero-padded
    to an odd ``dim``)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half).to(timesteps.device)
    args = timesteps[:, None].float() * freqs[None]
    embedding = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    return torch.cat([embedding, torch.zeros_like(embedding[:, :1])], dim=-1) if dim % 2 else embedding


class TimeEmbedding(nn.Module):
    """Sinusoidal embedding of the timestep → Linear → SiLU → Linear (``blocks.0``, ``blocks.2``)."""

    def __init__(self, in_channels: int, embedding_channels: int, embedding_mode: str = "sin",
                 embedding_cfg: dict | None = None, act_cfg: Any = dict(type="SiLU", inplace=False)) -> None:
        super().__init__()
        if str(embedding_mode).upper() != "SIN":
            raise ConfigError(f"TimeEmbedding: embedding_mode must be 'sin', got {embedding_mode!r}")
        self.blocks = nn.Sequential(nn.Linear(in_channels, embedding_channels), build_activation(act_cfg, "TimeEmbedding"),
                                    nn.Linear(embedding_channels, embedding_channels))
        self.embedding_cfg = {"dim": in_channels, **(embedding_cfg or {})}

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.blocks(sinusoidal_embedding(t, **self.embedding_cfg).to(self.blocks[0].weight.dtype))


class NormWithEmbedding(nn.Module):
    """norm(x)·(1 + scale) + shift with (scale, shift) from the embedding (``use_scale_shift``), else
    norm(x + embedding)."""

    def __init__(self, in_channels: int, embedding_channels: int, norm_cfg: Any, act_cfg: Any,
                 use_scale_shift: bool = True) -> None:
        super().__init__()
        self.use_scale_shift = use_scale_shift
        self.norm = build_norm(norm_cfg, in_channels, "NormWithEmbedding")
        width = in_channels * 2 if use_scale_shift else in_channels
        self.embedding_layer = nn.Sequential(build_activation(act_cfg, "NormWithEmbedding"),
                                             nn.Linear(embedding_channels, width))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        embedding = self.embedding_layer(y).type(x.dtype)[:, :, None, None]
        if self.use_scale_shift:
            scale, shift = torch.chunk(embedding, 2, dim=1)
            return self.norm(x) * (1 + scale) + shift
        return self.norm(x + embedding)


class DenoisingDownsample(nn.Module):
    def __init__(self, in_channels: int, with_conv: bool = True) -> None:
        super().__init__()
        self.downsample = nn.Conv2d(in_channels, in_channels, 3, 2, 1) if with_conv else nn.AvgPool2d(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x)


class DenoisingUpsample(nn.Module):
    def __init__(self, in_channels: int, with_conv: bool = True) -> None:
        super().__init__()
        self.with_conv = with_conv
        if with_conv:
            self.conv = nn.Conv2d(in_channels, in_channels, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        return self.conv(x) if self.with_conv else x


class DenoisingResBlock(nn.Module):
    """norm → SiLU → conv (``conv_1``), the embedding through :class:`NormWithEmbedding`, SiLU → dropout →
    conv (``conv_2``, zero-initialised), plus the shortcut (a conv when the width changes). ``up``/``down``
    resample both paths between ``conv_1``'s activation and its conv."""

    takes_embedding = True

    def __init__(self, in_channels: int, embedding_channels: int, use_scale_shift_norm: bool, dropout: float,
                 out_channels: int | None = None, norm_cfg: Any = dict(type="GN", num_groups=32),
                 act_cfg: Any = dict(type="SiLU", inplace=False), shortcut_kernel_size: int = 1,
                 up: bool = False, down: bool = False) -> None:
        super().__init__()
        out_channels = in_channels if out_channels is None else out_channels
        if shortcut_kernel_size not in (1, 3):
            raise ConfigError(f"DenoisingResBlock: shortcut_kernel_size must be 1 or 3, got {shortcut_kernel_size!r}")
        self.conv_1 = nn.Sequential(build_norm(norm_cfg, in_channels, "DenoisingResBlock"),
                                    build_activation(act_cfg, "DenoisingResBlock"),
                                    nn.Conv2d(in_channels, out_channels, 3, padding=1))
        self.norm_with_embedding = NormWithEmbedding(out_channels, embedding_channels, norm_cfg, act_cfg,
                                                     use_scale_shift_norm)
        self.conv_2 = nn.Sequential(build_activation(act_cfg, "DenoisingResBlock"), nn.Dropout(dropout),
                                    nn.Conv2d(out_channels, out_channels, 3, padding=1))
        self.learnable_shortcut = out_channels != in_channels
        if self.learnable_shortcut:
            self.shortcut = nn.Conv2d(in_channels, out_channels, shortcut_kernel_size,
                                      padding=shortcut_kernel_size // 2)
        self.updown = up or down
        if up:
            self.h_upd, self.x_upd = DenoisingUpsample(in_channels, False), DenoisingUpsample(in_channels, False)
        elif down:
            self.h_upd, self.x_upd = DenoisingDownsample(in_channels, False), DenoisingDownsample(in_channels, False)
        else:
            self.h_upd = self.x_upd = nn.Identity()
        nn.init.zeros_(self.conv_2[-1].weight)
        nn.init.zeros_(self.conv_2[-1].bias)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.updown:
            h = self.conv_1[-1](self.h_upd(self.conv_1[:-1](x)))
            x = self.x_upd(x)
        else:
            h = self.conv_1(x)
        shortcut = self.shortcut(x) if self.learnable_shortcut else x
        return self.conv_2(self.norm_with_embedding(h, y)) + shortcut


def qkv_attention(qkv: torch.Tensor, heads: int, legacy: bool) -> torch.Tensor:
    """Softmax attention of N×(3·H·C)×T queries/keys/values over T positions. ``legacy`` (OpenAI's
    ``QKVAttentionLegacy``) splits heads before q/k/v; else q/k/v come first (``QKVAttention``)."""
    batch, width, length = qkv.shape
    channels = width // (3 * heads)
    if legacy:
        q, k, v = qkv.reshape(batch * heads, channels * 3, length).split(channels, dim=1)
    else:
        q, k, v = (part.reshape(batch * heads, channels, length) for part in qkv.chunk(3, dim=1))
    scale = 1 / math.sqrt(math.sqrt(channels))  # both sides scaled: steadier in half precision
    weight = torch.einsum("bct,bcs->bts", q * scale, k * scale)
    weight = torch.softmax(weight.float(), dim=-1).type(weight.dtype)
    return torch.einsum("bts,bcs->bct", weight, v).reshape(batch, -1, length)


class MultiHeadAttentionBlock(nn.Module):
    """Guided diffusion's attention: norm → 1×1 ``qkv`` → attention over positions → ``proj_out``, residual.
    Heads: ``in_channels // num_head_channels``, or ``num_heads`` when ``num_head_channels`` is -1."""

    def __init__(self, in_channels: int, num_heads: int = 1, num_head_channels: int = -1,
                 use_new_attention_order: bool = False, norm_cfg: Any = dict(type="GN32", num_groups=32),
                 encoder_channels: int | None = None) -> None:
        super().__init__()
        if num_head_channels != -1 and in_channels % num_head_channels:
            raise ConfigError(f"MultiHeadAttentionBlock: {in_channels} channels are not divisible by "
                              f"num_head_channels={num_head_channels}")
        self.num_heads = num_heads if num_head_channels == -1 else in_channels // num_head_channels
        self.legacy = not use_new_attention_order
        self.norm = build_norm(norm_cfg, in_channels, "MultiHeadAttentionBlock")
        self.qkv = nn.Conv1d(in_channels, in_channels * 3, 1)
        self.proj_out = nn.Conv1d(in_channels, in_channels, 1)
        if encoder_channels is not None:
            raise ConfigError("MultiHeadAttentionBlock: encoder_channels (text conditioning) is not supported")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, *spatial = x.shape
        x = x.reshape(b, c, -1)
        h = self.proj_out(qkv_attention(self.qkv(self.norm(x)), self.num_heads, self.legacy))
        return (x + h).reshape(b, c, *spatial)


class MultiHeadAttention(nn.Module):
    """DDPM's attention (MMagic's default ``attention_cfg``): ``norm``, ``qkv``, ``proj``; heads split
    before q/k/v."""

    def __init__(self, in_channels: int, num_heads: int = 1, norm_cfg: Any = dict(type="GN", num_groups=32)) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.norm = build_norm(norm_cfg, in_channels, "MultiHeadAttention")
        self.qkv = nn.Conv1d(in_channels, in_channels * 3, 1)
        self.proj = nn.Conv1d(in_channels, in_channels, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, *spatial = x.shape
        x = x.reshape(b, c, -1)
        qkv = self.qkv(self.norm(x))
        # MMagic's order: the heads split off the batch first, then q, k, v chunked
        h = qkv_attention(qkv.reshape(b * self.num_heads, -1, qkv.shape[2]), 1, legacy=False)
        return (self.proj(h.reshape(b, -1, h.shape[-1])) + x).reshape(b, c, *spatial)


ATTENTIONS = {"MultiHeadAttentionBlock": MultiHeadAttentionBlock, "MultiHeadAttention": MultiHeadAttention}


def build_attention(attention_cfg: dict, in_channels: int) -> nn.Module:
    kwargs = {key: value for key, value in attention_cfg.items() if key != "type"}
    try:
        return ATTENTIONS[attention_cfg["type"]](in_channels, **kwargs)
    except TypeError as exc:
        raise ConfigError(f"DenoisingUnet: attention_cfg {attention_cfg!r}: {exc}") from None


class EmbedSequential(nn.Sequential):
    """A sequence whose res-blocks (``takes_embedding``) also take the (time + label) embedding."""

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        for layer in self:
            x = layer(x, y) if getattr(layer, "takes_embedding", False) else layer(x)
        return x


class OutputHead(nn.Module):
    """MMCV's ``ConvModule(order=('norm', 'act', 'conv'))`` with a group norm: keys ``gn``, ``conv``."""

    def __init__(self, in_channels: int, out_channels: int, norm_cfg: Any, act_cfg: Any) -> None:
        super().__init__()
        self.gn = build_norm(norm_cfg, in_channels, "DenoisingUnet.out")
        self.activate = build_activation(act_cfg, "DenoisingUnet.out")
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.activate(self.gn(x)))
