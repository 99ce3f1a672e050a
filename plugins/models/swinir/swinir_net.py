"""``SwinIRNet`` (Liang et al. 2021) under MMagic 1.2.0's name, arguments and state-dict keys.

Shallow conv -> residual Swin transformer groups (RSTB) -> conv, with a global
skip, then one of four reconstruction heads (``upsampler``):
'pixelshuffle' (classical SR), 'pixelshuffledirect' (lightweight SR),
'nearest+conv' (real-world SR, ×2/×4) or '' / None (denoising and JPEG
artifact removal: the output is added to the input). The input is shifted by
the DIV2K RGB mean (3 channels) and scaled by ``img_range`` inside the net;
H and W are reflect-padded to a multiple of ``window_size`` and the output is
cropped back.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError, MgxError

from .blocks import RSTB, Upsample, UpsampleOneStep, residual_conv, to_map, to_tokens

RGB_MEAN = (0.4488, 0.4371, 0.4040)
UPSAMPLERS = ("pixelshuffle", "pixelshuffledirect", "nearest+conv", "")
NUM_FEAT = 64  # channels of SwinIR's reconstruction heads


def _pair(value: int | Sequence[int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)  # type: ignore[return-value]


def _check(depths: Sequence[int], num_heads: Sequence[int], embed_dim: int, upscale: int, upsampler: str,
           patch_size: int | Sequence[int]) -> None:
    if len(depths) != len(num_heads):
        raise ConfigError(f"SwinIRNet: depths {list(depths)} and num_heads {list(num_heads)} must have one entry "
                          f"per residual group each")
    bad_heads = [h for h in num_heads if embed_dim % h]
    if bad_heads:
        raise ConfigError(f"SwinIRNet: embed_dim={embed_dim} must be divisible by every num_heads entry, "
                          f"not by {bad_heads}")
    if upsampler not in UPSAMPLERS:
        raise ConfigError(f"SwinIRNet: upsampler must be one of {list(UPSAMPLERS)} (or None), got {upsampler!r}")
    if upsampler == "nearest+conv" and upscale not in (2, 4):
        raise ConfigError(f"SwinIRNet: upsampler='nearest+conv' supports upscale 2 or 4, got {upscale!r}")
    if upsampler == "" and upscale != 1:
        raise ConfigError(f"SwinIRNet: upsampler='' (denoising / JPEG) keeps the size; set upscale=1, "
                          f"got {upscale!r}")
    if _pair(patch_size) != (1, 1):
        raise ConfigError(f"SwinIRNet: patch_size must be 1 (SwinIR works on pixels), got {patch_size!r}")


def _check_resolution(img_size: tuple[int, int], window_size: int) -> None:
    # shifted blocks store their attention mask for img_size, cut into whole windows
    if min(img_size) > window_size and any(side % window_size for side in img_size):
        raise ConfigError(f"SwinIRNet: img_size={img_size[0] if img_size[0] == img_size[1] else img_size} must be "
                          f"a multiple of window_size={window_size} (the shifted-window masks are stored for it); "
                          f"MMagic's configs pair 48/64/128 with 8 and 126 with 7")


class SwinIRNet(nn.Module):
    """SwinIR (see the module docstring). Arguments and defaults are MMagic 1.2.0's."""

    def __init__(self, img_size: int | Sequence[int] = 64, patch_size: int | Sequence[int] = 1, in_chans: int = 3,
                 embed_dim: int = 96, depths: Sequence[int] = (6, 6, 6, 6), num_heads: Sequence[int] = (6, 6, 6, 6),
                 window_size: int = 7, mlp_ratio: float = 4.0, qkv_bias: bool = True, qk_scale: float | None = None,
                 drop_rate: float = 0.0, attn_drop_rate: float = 0.0, drop_path_rate: float = 0.1,
                 norm_layer: Callable[[int], nn.Module] = nn.LayerNorm, ape: bool = False, patch_norm: bool = True,
                 use_checkpoint: bool = False, upscale: int = 2, img_range: float = 1.0, upsampler: str | None = "",
                 resi_connection: str = "1conv") -> None:
        super().__init__()
        upsampler = upsampler or ""
        _check(depths, num_heads, embed_dim, upscale, upsampler, patch_size)
        self.img_range, self.upscale, self.upsampler, self.window_size = img_range, upscale, upsampler, window_size
        self.in_chans = in_chans
        mean = torch.tensor(RGB_MEAN) if in_chans == 3 else torch.zeros(1)
        self.register_buffer("mean", mean.view(1, -1, 1, 1), persistent=False)  # a constant, not in checkpoints
        resolution = _pair(img_size)
        _check_resolution(resolution, window_size)
        self.patches_resolution = resolution
        self.ape = ape
        self.conv_first = nn.Conv2d(in_chans, embed_dim, 3, 1, 1)
        # MMagic's PatchEmbed holds only this norm (patch size 1: embedding is a reshape)
        self.patch_embed = nn.Module()
        self.patch_embed.norm = norm_layer(embed_dim) if patch_norm else None
        if ape:
            self.absolute_pos_embed = nn.Parameter(torch.zeros(1, resolution[0] * resolution[1], embed_dim))
            nn.init.trunc_normal_(self.absolute_pos_embed, std=0.02)
        self.pos_drop = nn.Dropout(drop_rate)
        total = sum(depths)  # stochastic depth grows linearly with depth (torch.linspace's values)
        rates = [drop_path_rate * index / max(total - 1, 1) for index in range(total)]
        starts = [sum(depths[:index]) for index in range(len(depths))]
        self.layers = nn.ModuleList(
            RSTB(embed_dim, resolution, depth, heads, window_size, mlp_ratio, qkv_bias, qk_scale, drop_rate,
                 attn_drop_rate, rates[start:start + depth], norm_layer, use_checkpoint, resi_connection)
            for depth, heads, start in zip(depths, num_heads, starts))
        self.norm = norm_layer(embed_dim)
        self.conv_after_body = residual_conv(embed_dim, resi_connection)
        self._build_head(upsampler, upscale, embed_dim, in_chans)
        self.apply(self._init_weights)

    def _build_head(self, upsampler: str, upscale: int, embed_dim: int, out_ch: int) -> None:
        if upsampler in ("pixelshuffle", "nearest+conv"):
            self.conv_before_upsample = nn.Sequential(nn.Conv2d(embed_dim, NUM_FEAT, 3, 1, 1),
                                                      nn.LeakyReLU(inplace=True))
        if upsampler == "pixelshuffle":
            self.upsample = Upsample(upscale, NUM_FEAT)
            self.conv_last = nn.Conv2d(NUM_FEAT, out_ch, 3, 1, 1)
        elif upsampler == "pixelshuffledirect":
            self.upsample = UpsampleOneStep(upscale, embed_dim, out_ch)
        elif upsampler == "nearest+conv":
            self.conv_up1 = nn.Conv2d(NUM_FEAT, NUM_FEAT, 3, 1, 1)
            if upscale == 4:
                self.conv_up2 = nn.Conv2d(NUM_FEAT, NUM_FEAT, 3, 1, 1)
            self.conv_hr = nn.Conv2d(NUM_FEAT, NUM_FEAT, 3, 1, 1)
            self.conv_last = nn.Conv2d(NUM_FEAT, out_ch, 3, 1, 1)
            self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)
        else:
            self.conv_last = nn.Conv2d(embed_dim, out_ch, 3, 1, 1)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.trunc_normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Deep features: the RSTB groups and the final LayerNorm, B×C×H×W in and out."""
        size = (x.shape[2], x.shape[3])
        tokens = to_tokens(x)
        if self.patch_embed.norm is not None:
            tokens = self.patch_embed.norm(tokens)
        if self.ape:
            tokens = tokens + self.absolute_pos_embed
        tokens = self.pos_drop(tokens)
        for layer in self.layers:
            tokens = layer(tokens, size)
        return to_map(self.norm(tokens), size)

    def _reconstruct(self, x: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        if self.upsampler == "pixelshuffle":
            return self.conv_last(self.upsample(self.conv_before_upsample(features)))
        if self.upsampler == "pixelshuffledirect":
            return self.upsample(features)
        if self.upsampler == "nearest+conv":
            out = self.conv_before_upsample(features)
            out = self.lrelu(self.conv_up1(F.interpolate(out, scale_factor=2, mode="nearest")))
            if self.upscale == 4:
                out = self.lrelu(self.conv_up2(F.interpolate(out, scale_factor=2, mode="nearest")))
            return self.conv_last(self.lrelu(self.conv_hr(out)))
        return x + self.conv_last(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != self.in_chans:
            raise MgxError(f"SwinIRNet(in_chans={self.in_chans}) got {x.shape[1]}-channel images: check the "
                           f"pipeline's color_type (LoadImageFromFile, RandomJPEGCompression) against in_chans")
        height, width = x.shape[2:]
        window = self.window_size
        x = F.pad(x, (0, (-width) % window, 0, (-height) % window), mode="reflect")
        mean = self.mean.to(x.dtype)
        x = (x - mean) * self.img_range
        shallow = self.conv_first(x)
        features = self.conv_after_body(self.forward_features(shallow)) + shallow
        out = self._reconstruct(x, features) / self.img_range + mean
        return out[:, :, :height * self.upscale, :width * self.upscale]
