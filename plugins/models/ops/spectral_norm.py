"""Spectral normalisation (Miyato et al. 2018) in MMagic 1.2.0's two styles, ``SNConvModule`` and
BigGAN/SAGAN's ``SelfAttentionBlock``.

* ``sn_style='torch'``: ``torch.nn.utils.spectral_norm`` (keys ``weight_orig``, ``weight_u``,
  ``weight_v``): in training one power iteration ``v = W^T u / ‖W^T u‖``, ``u = W v / ‖W v‖`` (norms
  floored at ``eps``), σ = uᵀ W v with the gradient flowing through W; in eval the stored u, v.
* ``sn_style='ajbrock'``: BigGAN-PyTorch's layers (keys ``weight``, ``u0``, ``sv0``): in training
  ``v = normalize(u W)``, ``u = normalize(v Wᵀ)`` stored, σ = v Wᵀ uᵀ computed *without* gradient
  and stored in ``sv0``; in eval the stored u gives σ afresh (u is not updated).

W is the weight flattened to (out, rest) (an embedding's (num_embeddings, dim)). ``eps`` is MMagic's
``sn_eps`` where it passes one; where MMagic passes none, torch's default 1e-12.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError

from .conv_module import ConvModule

SN_STYLES = ("torch", "ajbrock")


def check_sn_style(sn_style: Any, who: str) -> str:
    if sn_style not in SN_STYLES:
        raise ConfigError(f"{who}: sn_style must be one of {SN_STYLES}, got {sn_style!r}")
    return sn_style


class _AjbrockSpectralNorm:
    """The mixin of BigGAN-PyTorch's SN layers: one singular vector ``u0``, one power iteration."""

    def _register_sn(self, num_outputs: int, eps: float) -> None:
        self.sn_eps = eps
        self.register_buffer("u0", torch.randn(1, num_outputs))
        self.register_buffer("sv0", torch.ones(1))

    def normalized_weight(self) -> torch.Tensor:
        matrix = self.weight.view(self.weight.shape[0], -1)
        with torch.no_grad():
            v = F.normalize(self.u0 @ matrix, eps=self.sn_eps)
            u = F.normalize(v @ matrix.t(), eps=self.sn_eps)
            sigma = (v @ matrix.t() @ u.t()).squeeze()
            if self.training:
                self.u0.copy_(u)
                self.sv0.copy_(sigma)
        return self.weight / sigma


class SNConv2d(nn.Conv2d, _AjbrockSpectralNorm):
    def __init__(self, *args, eps: float = 1e-12, **kwargs) -> None:
        nn.Conv2d.__init__(self, *args, **kwargs)
        self._register_sn(self.out_channels, eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.normalized_weight(), self.bias)


class SNLinear(nn.Linear, _AjbrockSpectralNorm):
    def __init__(self, in_features: int, out_features: int, bias: bool = True, eps: float = 1e-12) -> None:
        nn.Linear.__init__(self, in_features, out_features, bias)
        self._register_sn(out_features, eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.normalized_weight(), self.bias)


class SNEmbedding(nn.Embedding, _AjbrockSpectralNorm):
    def __init__(self, num_embeddings: int, embedding_dim: int, eps: float = 1e-12) -> None:
        nn.Embedding.__init__(self, num_embeddings, embedding_dim)
        self._register_sn(num_embeddings, eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.embedding(x, self.normalized_weight())


def sn_linear(in_features: int, out_features: int, *, with_spectral_norm: bool, sn_style: str = "torch",
              eps: float = 1e-12, bias: bool = True) -> nn.Module:
    """A Linear, spectrally normalised in ``sn_style`` when asked."""
    if not with_spectral_norm:
        return nn.Linear(in_features, out_features, bias)
    if sn_style == "ajbrock":
        return SNLinear(in_features, out_features, bias, eps=eps)
    return nn.utils.spectral_norm(nn.Linear(in_features, out_features, bias), eps=eps)


def sn_embedding(num_embeddings: int, dim: int, *, with_spectral_norm: bool, sn_style: str = "torch",
                 eps: float = 1e-12) -> nn.Module:
    """An Embedding, spectrally normalised in ``sn_style`` when asked."""
    if not with_spectral_norm:
        return nn.Embedding(num_embeddings, dim)
    if sn_style == "ajbrock":
        return SNEmbedding(num_embeddings, dim, eps=eps)
    return nn.utils.spectral_norm(nn.Embedding(num_embeddings, dim), eps=eps)


def sn_conv_args(with_spectral_norm: bool, sn_eps: float, sn_style: str, who: str) -> dict:
    """The spectral-norm arguments of an :class:`SNConvModule` (``sn_style`` checked)."""
    return dict(with_spectral_norm=with_spectral_norm,
                spectral_norm_cfg=dict(eps=sn_eps, sn_style=check_sn_style(sn_style, who)), who=who)


def raw_weight(module: nn.Module) -> torch.Tensor:
    """The trainable weight of a (possibly spectrally normalised) layer, for initialisation."""
    return module.weight_orig if hasattr(module, "weight_orig") else module.weight


class SNConvModule(ConvModule):
    """MMagic's ``SNConvModule``: a ConvModule whose conv is spectrally normalised when
    ``with_spectral_norm``; ``spectral_norm_cfg=dict(eps=1e-6, sn_style='torch')`` (MMagic's defaults)."""

    def __init__(self, *args, with_spectral_norm: bool = False, spectral_norm_cfg: dict | None = None,
                 who: str = "SNConvModule", **kwargs) -> None:
        super().__init__(*args, who=who, **kwargs)
        cfg = dict(spectral_norm_cfg or {})
        unknown = sorted(set(cfg) - {"eps", "sn_style"})
        if unknown:
            raise ConfigError(f"{who}: spectral_norm_cfg takes eps and sn_style, got {unknown}")
        self.with_spectral_norm = bool(with_spectral_norm)
        self.sn_eps = float(cfg.get("eps", 1e-6))
        self.sn_style = check_sn_style(cfg.get("sn_style", "torch"), who)
        if not self.with_spectral_norm:
            return
        if self.sn_style == "torch":
            self.conv = nn.utils.spectral_norm(self.conv, eps=self.sn_eps)
            return
        plain = self.conv
        if not isinstance(plain, nn.Conv2d) or isinstance(plain, nn.ConvTranspose2d):
            raise ConfigError(f"{who}: sn_style='ajbrock' normalises Conv2d layers only")
        # BigGAN-PyTorch's layer replaces the conv, as in MMagic (its own default init)
        self.conv = SNConv2d(plain.in_channels, plain.out_channels, plain.kernel_size, plain.stride, plain.padding,
                             plain.dilation, plain.groups, plain.bias is not None, eps=self.sn_eps)


class SelfAttentionBlock(nn.Module):
    """SAGAN's self-attention (Zhang et al. 2019) as MMagic builds it: θ, φ (C/8), g (C/2) 1×1 convs,
    φ and g max-pooled 2×2, attention softmax(θᵀφ) over the pooled positions, output conv o back to C,
    ``x + gamma · o`` with ``gamma`` starting at 0."""

    def __init__(self, in_channels: int, with_spectral_norm: bool = True, sn_eps: float = 1e-6,
                 sn_style: str = "ajbrock") -> None:
        super().__init__()
        if in_channels < 8:
            raise ConfigError(f"SelfAttentionBlock: in_channels must be at least 8 (θ and φ have in_channels // 8 "
                              f"channels), got {in_channels}")
        self.in_channels = in_channels
        layer = dict(kernel_size=1, padding=0, bias=False, act_cfg=None, with_spectral_norm=with_spectral_norm,
                     spectral_norm_cfg=dict(eps=sn_eps, sn_style=sn_style), who="SelfAttentionBlock")
        self.theta = SNConvModule(in_channels, in_channels // 8, **layer)
        self.phi = SNConvModule(in_channels, in_channels // 8, **layer)
        self.g = SNConvModule(in_channels, in_channels // 2, **layer)
        self.o = SNConvModule(in_channels // 2, in_channels, **layer)
        self.gamma = nn.Parameter(torch.tensor(0.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        num, channels, height, width = x.shape
        theta = self.theta(x).reshape(num, channels // 8, height * width)
        phi = F.max_pool2d(self.phi(x), 2).reshape(num, channels // 8, -1)
        g = F.max_pool2d(self.g(x), 2).reshape(num, channels // 2, -1)  # pooled: odd sizes floor, as MMagic's view
        attention = torch.softmax(theta.transpose(1, 2) @ phi, dim=-1)
        out = self.o((g @ attention.transpose(1, 2)).reshape(num, channels // 2, height, width))
        return self.gamma * out + x


__all__ = ["SN_STYLES", "SNConv2d", "SNConvModule", "SNEmbedding", "SNLinear", "SelfAttentionBlock",
           "check_sn_style", "raw_weight", "sn_conv_args", "sn_embedding", "sn_linear"]
