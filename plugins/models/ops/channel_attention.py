"""Layers built on channel statistics, shared by Restormer and NAFNet.

* ``channel_layer_norm`` / ``ChannelLayerNorm``: layer normalisation over the channel axis of
  an N×C×H×W tensor at every pixel, computed along that axis (no transposes to N×HW×C).
* ``transposed_attention``: Restormer's MDTA core — attention between *channels*
  (a C/heads × C/heads map per head) rather than between pixels, so its cost is
  linear in the number of pixels.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

LAYER_NORM_EPS = 1e-5


class ChannelNormParameters(nn.Module):
    """The learnable scale (and shift, ``with_bias``) of ``ChannelLayerNorm``, kept in a child module
    named ``body`` so the parameters are ``<norm>.body.weight`` / ``<norm>.body.bias`` as in MMagic."""

    def __init__(self, channels: int, with_bias: bool) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels)) if with_bias else None


def channel_layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                       eps: float = LAYER_NORM_EPS) -> torch.Tensor:
    """Per-pixel layer norm over the channels of N×C×H×W ``x``: ``(x − μ)/√(σ² + ε)·w + b``; without
    ``bias``, Restormer's BiasFree form ``x/√(σ² + ε)·w`` (the mean leaves σ² but not x)."""
    variance, mean = torch.var_mean(x, dim=1, keepdim=True, correction=0)
    scale = torch.rsqrt(variance + eps)
    weight = weight.view(1, -1, 1, 1)
    if bias is None:
        return x * scale * weight
    return torch.addcmul(bias.view(1, -1, 1, 1), (x - mean) * scale, weight)


class ChannelLayerNorm(nn.Module):
    """Restormer's LayerNorm (``with_bias``: WithBias, else BiasFree) over channels, see ``channel_layer_norm``."""

    def __init__(self, channels: int, with_bias: bool = True, eps: float = LAYER_NORM_EPS) -> None:
        super().__init__()
        self.body = ChannelNormParameters(channels, with_bias)
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return channel_layer_norm(x, self.body.weight, self.body.bias, self.eps)


def transposed_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int,
                         temperature: torch.Tensor) -> torch.Tensor:
    """MDTA: per head, softmax(q̂·k̂ᵀ·τ)·v over channels, q̂/k̂ L2-normalised along the pixels.

    q, k, v: N×C×H×W with C divisible by ``heads``; ``temperature``: heads×1×1 (τ per head).
    """
    n, c, h, w = q.shape
    q, k, v = (t.reshape(n, heads, c // heads, h * w) for t in (q, k, v))
    q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
    attention = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * temperature, dim=-1)
    return torch.matmul(attention, v).reshape(n, c, h, w)
