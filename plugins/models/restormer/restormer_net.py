"""Restormer (Zamir et al., CVPR 2022) under MMagic 1.2.0's name, arguments and state-dict keys.

A 4-level U-Net of transformer blocks. Each block is MDTA (multi-Dconv head transposed attention:
attention between channels, see ``ops.channel_attention``) followed by GDFN (gated-Dconv feed-forward:
GELU(a)·b of two depth-wise-convolved halves). Levels change resolution with a 3×3 conv plus pixel
(un)shuffle. Images whose sides are not multiples of 8 are reflect-padded and the output cropped.
``dual_pixel_task``: the input is a dict of the left/right dual-pixel views (``dual_keys``), stacked
on channels (``inp_channels=6``), and the output adds a 1×1 skip of the embedded input instead of the
input image itself.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError, MgxError

from ..ops.channel_attention import ChannelLayerNorm, transposed_attention

LAYER_NORM_TYPES = ("WithBias", "BiasFree")
SIZE_MULTIPLE = 8  # three ×2 down-samplings


class Attention(nn.Module):
    """MDTA: 1×1 conv to q,k,v, 3×3 depth-wise conv, channel attention per head, 1×1 projection."""

    def __init__(self, dim: int, num_heads: int, bias: bool) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.temperature = nn.Parameter(torch.ones(num_heads, 1, 1))
        self.qkv = nn.Conv2d(dim, dim * 3, kernel_size=1, bias=bias)
        self.qkv_dwconv = nn.Conv2d(dim * 3, dim * 3, kernel_size=3, padding=1, groups=dim * 3, bias=bias)
        self.project_out = nn.Conv2d(dim, dim, kernel_size=1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv_dwconv(self.qkv(x)).chunk(3, dim=1)
        return self.project_out(transposed_attention(q, k, v, self.num_heads, self.temperature))


class FeedForward(nn.Module):
    """GDFN: 1×1 conv to 2·hidden, 3×3 depth-wise conv, GELU(first half)·second half, 1×1 conv back."""

    def __init__(self, dim: int, ffn_expansion_factor: float, bias: bool) -> None:
        super().__init__()
        hidden = int(dim * ffn_expansion_factor)
        self.project_in = nn.Conv2d(dim, hidden * 2, kernel_size=1, bias=bias)
        self.dwconv = nn.Conv2d(hidden * 2, hidden * 2, kernel_size=3, padding=1, groups=hidden * 2, bias=bias)
        self.project_out = nn.Conv2d(hidden, dim, kernel_size=1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, value = self.dwconv(self.project_in(x)).chunk(2, dim=1)
        return self.project_out(F.gelu(gate) * value)


class TransformerBlock(nn.Module):
    """x + MDTA(norm1(x)), then + GDFN(norm2(·))."""

    def __init__(self, dim: int, num_heads: int, ffn_expansion_factor: float, bias: bool,
                 LayerNorm_type: str) -> None:  # noqa: N803 (MMagic's argument name)
        super().__init__()
        with_bias = LayerNorm_type != "BiasFree"
        self.norm1 = ChannelLayerNorm(dim, with_bias)
        self.attn = Attention(dim, num_heads, bias)
        self.norm2 = ChannelLayerNorm(dim, with_bias)
        self.ffn = FeedForward(dim, ffn_expansion_factor, bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.ffn(self.norm2(x))


class OverlapPatchEmbed(nn.Module):
    """3×3 convolution from image channels to the embedding width."""

    def __init__(self, in_c: int = 3, embed_dim: int = 48, bias: bool = False) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_c, embed_dim, kernel_size=3, padding=1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


class Downsample(nn.Module):
    """3×3 conv to half the channels, then pixel-unshuffle ×2: C×H×W -> 2C×H/2×W/2."""

    def __init__(self, n_feat: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(n_feat, n_feat // 2, kernel_size=3, padding=1, bias=False),
                                  nn.PixelUnshuffle(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class Upsample(nn.Module):
    """3×3 conv to twice the channels, then pixel-shuffle ×2: C×H×W -> C/2×2H×2W."""

    def __init__(self, n_feat: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(n_feat, n_feat * 2, kernel_size=3, padding=1, bias=False),
                                  nn.PixelShuffle(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def _blocks(count: int, dim: int, heads: int, factor: float, bias: bool, norm: str) -> nn.Sequential:
    return nn.Sequential(*(TransformerBlock(dim, heads, factor, bias, norm) for _ in range(count)))


def _check_arguments(dim: int, num_blocks: Sequence[int], heads: Sequence[int], norm: str,
                     dual_keys: Sequence[str]) -> None:
    if len(num_blocks) != 4 or len(heads) != 4:
        raise ConfigError(f"Restormer: num_blocks and heads need 4 entries (one per level), got "
                          f"num_blocks={list(num_blocks)}, heads={list(heads)}")
    if norm not in LAYER_NORM_TYPES:
        raise ConfigError(f"Restormer: LayerNorm_type must be one of {LAYER_NORM_TYPES}, got {norm!r}")
    for level, head_count in enumerate(heads):
        width = dim * 2 ** level
        if head_count < 1 or width % head_count:
            raise ConfigError(f"Restormer: level {level} has {width} channels (dim·2^{level}), which "
                              f"heads[{level}]={head_count} does not divide")
    if dim % 2:
        raise ConfigError(f"Restormer: dim must be even (the first down-sampling halves it), got {dim}")
    if len(dual_keys) < 1:
        raise ConfigError("Restormer: dual_keys must name the input views, e.g. ['imgL', 'imgR']")


class Restormer(nn.Module):
    """Restormer (see the module docstring); arguments as MMagic 1.2.0's."""

    def __init__(self, inp_channels: int = 3, out_channels: int = 3, dim: int = 48,
                 num_blocks: Sequence[int] = (4, 6, 6, 8), num_refinement_blocks: int = 4,
                 heads: Sequence[int] = (1, 2, 4, 8), ffn_expansion_factor: float = 2.66, bias: bool = False,
                 LayerNorm_type: str = "WithBias", dual_pixel_task: bool = False,  # noqa: N803
                 dual_keys: Sequence[str] = ("imgL", "imgR")) -> None:
        super().__init__()
        num_blocks, heads, dual_keys = list(num_blocks), list(heads), list(dual_keys)
        _check_arguments(dim, num_blocks, heads, LayerNorm_type, dual_keys)
        blocks = dict(factor=ffn_expansion_factor, bias=bias, norm=LayerNorm_type)
        self.patch_embed = OverlapPatchEmbed(inp_channels, dim)
        self.encoder_level1 = _blocks(num_blocks[0], dim, heads[0], **blocks)
        self.down1_2 = Downsample(dim)
        self.encoder_level2 = _blocks(num_blocks[1], dim * 2, heads[1], **blocks)
        self.down2_3 = Downsample(dim * 2)
        self.encoder_level3 = _blocks(num_blocks[2], dim * 4, heads[2], **blocks)
        self.down3_4 = Downsample(dim * 4)
        self.latent = _blocks(num_blocks[3], dim * 8, heads[3], **blocks)
        self.up4_3 = Upsample(dim * 8)
        self.reduce_chan_level3 = nn.Conv2d(dim * 8, dim * 4, kernel_size=1, bias=bias)
        self.decoder_level3 = _blocks(num_blocks[2], dim * 4, heads[2], **blocks)
        self.up3_2 = Upsample(dim * 4)
        self.reduce_chan_level2 = nn.Conv2d(dim * 4, dim * 2, kernel_size=1, bias=bias)
        self.decoder_level2 = _blocks(num_blocks[1], dim * 2, heads[1], **blocks)
        self.up2_1 = Upsample(dim * 2)
        # level 1 of the decoder keeps the concatenation's 2·dim channels (no reduction)
        self.decoder_level1 = _blocks(num_blocks[0], dim * 2, heads[0], **blocks)
        self.refinement = _blocks(num_refinement_blocks, dim * 2, heads[0], **blocks)
        self.dual_pixel_task = bool(dual_pixel_task)
        self.dual_keys = dual_keys
        self.inp_channels = inp_channels
        if self.dual_pixel_task:
            self.skip_conv = nn.Conv2d(dim, dim * 2, kernel_size=1, bias=bias)
        self.output = nn.Conv2d(dim * 2, out_channels, kernel_size=3, padding=1, bias=bias)

    def _stack_views(self, views: Any) -> torch.Tensor:
        if not isinstance(views, dict):
            raise MgxError(f"Restormer(dual_pixel_task=True) takes a dict of the views {self.dual_keys} "
                           f"(PackInputs(keys={self.dual_keys})), got {type(views).__name__}")
        missing = [key for key in self.dual_keys if key not in views]
        if missing:
            raise MgxError(f"Restormer(dual_pixel_task=True): the input has no view(s) {missing}; it has "
                           f"{sorted(views)} (set PackInputs(keys=...) or the generator's dual_keys)")
        return torch.cat([views[key] for key in self.dual_keys], dim=1)

    def forward(self, inp_img: Any) -> torch.Tensor:
        image = self._stack_views(inp_img) if self.dual_pixel_task else inp_img
        height, width = image.shape[-2:]
        pad_h, pad_w = (-height) % SIZE_MULTIPLE, (-width) % SIZE_MULTIPLE
        if pad_h or pad_w:
            image = F.pad(image, (0, pad_w, 0, pad_h), mode="reflect")
        embedded = self.patch_embed(image)
        level1 = self.encoder_level1(embedded)
        level2 = self.encoder_level2(self.down1_2(level1))
        level3 = self.encoder_level3(self.down2_3(level2))
        latent = self.latent(self.down3_4(level3))
        decoded = self.decoder_level3(self.reduce_chan_level3(torch.cat([self.up4_3(latent), level3], 1)))
        decoded = self.decoder_level2(self.reduce_chan_level2(torch.cat([self.up3_2(decoded), level2], 1)))
        decoded = self.refinement(self.decoder_level1(torch.cat([self.up2_1(decoded), level1], 1)))
        if self.dual_pixel_task:
            out = self.output(decoded + self.skip_conv(embedded))
        else:
            out = self.output(decoded) + image
        return out[..., :height, :width]
