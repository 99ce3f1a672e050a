"""Guided diffusion's noisy-image classifier, ``EncoderUNetModel``: the down half of OpenAI's U-Net and a
pooling head, under MMagic 1.2.0's arguments and OpenAI's state-dict keys (``time_embed``,
``input_blocks``, ``middle_block``, ``out``), which MMagic keeps; its class log-probability gradient
steers sampling (classifier guidance)."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from mgx.core.errors import ConfigError

from ..ddpm.blocks import EmbedSequential, GroupNorm32, MultiHeadAttentionBlock, qkv_attention, sinusoidal_embedding

GROUPS = 32  # OpenAI's normalization(): always 32 groups


def _norm(channels: int) -> nn.Module:
    if channels % GROUPS:
        raise ConfigError(f"EncoderUNetModel: {channels} channels are not divisible into its {GROUPS} norm groups; "
                          f"use a model_channels whose multiples are")
    return GroupNorm32(GROUPS, channels)


def _zero(module: nn.Module) -> nn.Module:
    for parameter in module.parameters():
        nn.init.zeros_(parameter)
    return module


class ResBlock(nn.Module):
    """OpenAI's res-block: ``in_layers`` (norm, SiLU, conv), ``emb_layers`` (SiLU, linear), ``out_layers``
    (norm, SiLU, dropout, conv) and a ``skip_connection``; ``down`` halves both paths (average pooling)."""

    takes_embedding = True

    def __init__(self, channels: int, emb_channels: int, dropout: float, out_channels: int | None = None,
                 use_scale_shift_norm: bool = False, down: bool = False) -> None:
        super().__init__()
        out_channels = out_channels or channels
        self.use_scale_shift_norm = use_scale_shift_norm
        self.in_layers = nn.Sequential(_norm(channels), nn.SiLU(), nn.Conv2d(channels, out_channels, 3, padding=1))
        self.down = down
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb_channels, 2 * out_channels if use_scale_shift_norm
                                                             else out_channels))
        self.out_layers = nn.Sequential(_norm(out_channels), nn.SiLU(), nn.Dropout(p=dropout),
                                        _zero(nn.Conv2d(out_channels, out_channels, 3, padding=1)))
        self.skip_connection = nn.Identity() if out_channels == channels else nn.Conv2d(channels, out_channels, 1)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        if self.down:
            pool = nn.functional.avg_pool2d
            h = self.in_layers[-1](pool(self.in_layers[:-1](x), 2, 2))
            x = pool(x, 2, 2)
        else:
            h = self.in_layers(x)
        emb_out = self.emb_layers(emb).type(h.dtype)[:, :, None, None]
        if self.use_scale_shift_norm:
            scale, shift = torch.chunk(emb_out, 2, dim=1)
            h = self.out_layers[1:](self.out_layers[0](h) * (1 + scale) + shift)
        else:
            h = self.out_layers(h + emb_out)
        return self.skip_connection(x) + h


def _attention(channels: int, **kwargs: Any) -> nn.Module:
    """OpenAI's ``AttentionBlock`` (keys ``norm``, ``qkv``, ``proj_out``): guided diffusion's attention with
    32-group norms, its output projection zero-initialised."""
    _norm(channels)  # (the group count checked with this network's message)
    block = MultiHeadAttentionBlock(channels, norm_cfg=dict(type="GN32", num_groups=GROUPS), **kwargs)
    _zero(block.proj_out)
    return block


class AttentionPool2d(nn.Module):
    """CLIP's attention pooling: the mean token and the positions (with a learned positional embedding)
    attend; the mean token's output, projected to the classes, is the logits."""

    def __init__(self, spacial_dim: int, embed_dim: int, num_heads_channels: int, output_dim: int | None = None):
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.randn(embed_dim, spacial_dim ** 2 + 1) / embed_dim ** 0.5)
        self.qkv_proj = nn.Conv1d(embed_dim, 3 * embed_dim, 1)
        self.c_proj = nn.Conv1d(embed_dim, output_dim or embed_dim, 1)
        self.num_heads = embed_dim // num_heads_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, *_ = x.shape
        x = x.reshape(b, c, -1)
        x = torch.cat([x.mean(dim=-1, keepdim=True), x], dim=-1) + self.positional_embedding[None].to(x.dtype)
        return self.c_proj(qkv_attention(self.qkv_proj(x), self.num_heads, legacy=False))[:, :, 0]


class EncoderUNetModel(nn.Module):
    """MMagic's ``EncoderUNetModel(image_size, in_channels, model_channels, out_channels, num_res_blocks,
    attention_resolutions, dropout=0, channel_mult=(1, 2, 4, 8), conv_resample=True, dims=2,
    use_checkpoint=False, use_fp16=False, num_heads=1, num_head_channels=-1, num_heads_upsample=-1,
    use_scale_shift_norm=False, resblock_updown=False, use_new_attention_order=False, pool='adaptive')``;
    ``attention_resolutions`` are downsampling rates (1, 2, 4, ...). ``forward(x, timesteps)`` → N×classes
    logits. Pools: ``adaptive`` and ``attention`` (what MMagic's configs use)."""

    def __init__(self, image_size: int, in_channels: int, model_channels: int, out_channels: int,
                 num_res_blocks: int, attention_resolutions: Any, dropout: float = 0, channel_mult: Any = (1, 2, 4, 8),
                 conv_resample: bool = True, dims: int = 2, use_checkpoint: bool = False, use_fp16: bool = False,
                 num_heads: int = 1, num_head_channels: int = -1, num_heads_upsample: int = -1,
                 use_scale_shift_norm: bool = False, resblock_updown: bool = False,
                 use_new_attention_order: bool = False, pool: str = "adaptive") -> None:
        super().__init__()
        if dims != 2 or use_fp16 or use_checkpoint:
            raise ConfigError("EncoderUNetModel: only dims=2, use_fp16=False, use_checkpoint=False are supported "
                              "(half precision: run with --amp)")
        if pool not in ("adaptive", "attention"):
            raise ConfigError(f"EncoderUNetModel: pool must be 'adaptive' or 'attention', got {pool!r}")
        if pool == "attention" and num_head_channels == -1:
            raise ConfigError("EncoderUNetModel: pool='attention' needs num_head_channels")
        self.model_channels, self.pool = model_channels, pool
        self.in_channels, self.out_channels, self.image_size = in_channels, out_channels, image_size
        embed = model_channels * 4
        self.time_embed = nn.Sequential(nn.Linear(model_channels, embed), nn.SiLU(), nn.Linear(embed, embed))
        attention = dict(num_heads=num_heads, num_head_channels=num_head_channels,
                         use_new_attention_order=use_new_attention_order)
        channels = int(channel_mult[0] * model_channels)
        self.input_blocks = nn.ModuleList([EmbedSequential(nn.Conv2d(in_channels, channels, 3, padding=1))])
        rate = 1
        for level, mult in enumerate(channel_mult):
            for _ in range(num_res_blocks):
                layers: list[nn.Module] = [ResBlock(channels, embed, dropout, int(mult * model_channels),
                                                   use_scale_shift_norm)]
                channels = int(mult * model_channels)
                if rate in attention_resolutions:
                    layers.append(_attention(channels, **attention))
                self.input_blocks.append(EmbedSequential(*layers))
            if level != len(channel_mult) - 1:
                down = (ResBlock(channels, embed, dropout, channels, use_scale_shift_norm, down=True) if resblock_updown
                        else _Downsample(channels, conv_resample))
                self.input_blocks.append(EmbedSequential(down))
                rate *= 2
        self.middle_block = EmbedSequential(ResBlock(channels, embed, dropout, None, use_scale_shift_norm),
                                                    _attention(channels, **attention),
                                                    ResBlock(channels, embed, dropout, None, use_scale_shift_norm))
        if pool == "adaptive":
            self.out = nn.Sequential(_norm(channels), nn.SiLU(), nn.AdaptiveAvgPool2d((1, 1)),
                                     _zero(nn.Conv2d(channels, out_channels, 1)), nn.Flatten())
        else:
            self.out = nn.Sequential(_norm(channels), nn.SiLU(),
                                     AttentionPool2d(image_size // rate, channels, num_head_channels, out_channels))

    def forward(self, x: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        emb = self.time_embed(sinusoidal_embedding(timesteps, self.model_channels).to(self.time_embed[0].weight.dtype))
        h = x
        for module in self.input_blocks:
            h = module(h, emb)
        return self.out(self.middle_block(h, emb))


class _Downsample(nn.Module):
    """OpenAI's ``Downsample``: a stride-2 conv (``op``) or 2×2 average pooling."""

    def __init__(self, channels: int, use_conv: bool) -> None:
        super().__init__()
        self.op = nn.Conv2d(channels, channels, 3, stride=2, padding=1) if use_conv else nn.AvgPool2d(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)
