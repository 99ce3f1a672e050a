"""MMagic's ``DenoisingUnet``: the U-Net of improved DDPM / guided diffusion (ADM), under MMagic 1.2.0's
arguments and state-dict keys (``time_embedding``, ``label_embedding``, ``in_blocks``, ``mid_blocks``,
``out_blocks``, ``out``), so that OpenAI's ADM checkpoints as MMagic converted them load with ``load_from``.

Down path: a 3×3 conv, then per level ``resblocks_per_downsample`` res-blocks (attention after each at
the feature scales of ``attention_res``) and, except at the last level, a downsampling res-block
(``resblock_updown``) or a :class:`DenoisingDownsample`. Middle: res-block, attention, res-block. Up path:
``resblocks_per_downsample + 1`` res-blocks per level, each reading the matching down-path feature map
concatenated, an upsampling step closing each level but the last. Output: norm → SiLU → conv, with
``2 × in_channels`` channels (ε and the variance interpolation) for a learned variance.
"""
from __future__ import annotations

from copy import deepcopy
from typing import Any

import torch
from torch import nn

from mgx.core.errors import ConfigError

from .blocks import (DenoisingDownsample, DenoisingResBlock, DenoisingUpsample, EmbedSequential, OutputHead,
                     TimeEmbedding, build_attention)

DEFAULT_CHANNELS = {512: [0.5, 1, 1, 2, 2, 4, 4], 256: [1, 1, 2, 2, 4, 4], 128: [1, 1, 2, 3, 4],
                    64: [1, 2, 3, 4], 32: [1, 2, 2, 2]}
VAR_MODES = ("FIXED_SMALL", "FIXED_LARGE", "LEARNED", "LEARNED_RANGE")


def _image_side(image_size: Any) -> int:
    if isinstance(image_size, (list, tuple)):
        if len(image_size) != 2 or image_size[0] != image_size[1]:
            raise ConfigError(f"DenoisingUnet: image_size must be an int or [side, side], got {image_size!r}")
        image_size = image_size[0]
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
        raise ConfigError(f"DenoisingUnet: image_size must be a positive int, got {image_size!r}")
    return image_size


def _channel_factors(channels_cfg: Any, image_size: int) -> list[float]:
    table = deepcopy(DEFAULT_CHANNELS if channels_cfg is None else channels_cfg)
    if isinstance(table, dict):
        if image_size not in table:
            raise ConfigError(f"DenoisingUnet: image_size={image_size} has no channels_cfg entry; give "
                              f"channels_cfg=[...] or one of {sorted(table)}")
        return list(table[image_size])
    if isinstance(table, (list, tuple)) and table:
        return list(table)
    raise ConfigError(f"DenoisingUnet: channels_cfg must be a list or a dict of lists, got {channels_cfg!r}")


class DenoisingUnet(nn.Module):
    """MMagic's ``DenoisingUnet(image_size, in_channels=3, out_channels=None, base_channels=128,
    resblocks_per_downsample=3, num_timesteps=1000, use_rescale_timesteps=False, dropout=0,
    embedding_channels=-1, num_classes=0, use_fp16=False, channels_cfg=None, output_cfg=dict(mean='eps',
    var='learned_range'), norm_cfg=dict(type='GN', num_groups=32), act_cfg=dict(type='SiLU'),
    shortcut_kernel_size=1, use_scale_shift_norm=False, resblock_updown=False, num_heads=4,
    time_embedding_mode='sin', time_embedding_cfg=None, resblock_cfg=dict(type='DenoisingResBlock'),
    attention_cfg=dict(type='MultiHeadAttention'), encoder_channels=None, downsample_conv=True,
    upsample_conv=True, downsample_cfg=..., upsample_cfg=..., attention_res=[16, 8], pretrained=None)``.

    ``forward(x_t, t, label=None)`` returns ``{'sample': N×out_channels×H×W}``. ``use_fp16`` (MMagic casts
    the convolutions to half) is accepted and leaves the weights in float32: half precision is ``--amp``'s.
    MMagic's Stable-Diffusion layout (``unet_type='stable'``) is diffusers' ``UNet2DConditionModel`` in mgx."""

    def __init__(self, image_size: Any, in_channels: int = 3, out_channels: int | None = None,
                 base_channels: int = 128, resblocks_per_downsample: int = 3, num_timesteps: int = 1000,
                 use_rescale_timesteps: bool = False, dropout: float = 0, embedding_channels: int = -1,
                 num_classes: int = 0, use_fp16: bool = False, channels_cfg: Any = None,
                 output_cfg: dict | None = None, norm_cfg: Any = dict(type="GN", num_groups=32),
                 act_cfg: Any = dict(type="SiLU", inplace=False), shortcut_kernel_size: int = 1,
                 use_scale_shift_norm: bool = False, resblock_updown: bool = False, num_heads: int = 4,
                 time_embedding_mode: str = "sin", time_embedding_cfg: dict | None = None,
                 resblock_cfg: Any = dict(type="DenoisingResBlock"), attention_cfg: Any = dict(type="MultiHeadAttention"),
                 encoder_channels: int | None = None, downsample_conv: bool = True, upsample_conv: bool = True,
                 downsample_cfg: Any = dict(type="DenoisingDownsample"), upsample_cfg: Any = dict(type="DenoisingUpsample"),
                 attention_res: Any = (16, 8), pretrained: Any = None, unet_type: str = "", **stable_args: Any) -> None:
        super().__init__()
        if unet_type == "stable" or stable_args:
            raise ConfigError("DenoisingUnet: unet_type='stable' (the Stable Diffusion layout) is diffusers' "
                              "UNet2DConditionModel in mgx; use dict(type='UNet2DConditionModel', ...)")
        if pretrained is not None:
            raise ConfigError("DenoisingUnet: pretrained= is not supported; give the checkpoint as load_from")
        self.image_size = _image_side(image_size)
        self.in_channels, self.num_classes, self.num_timesteps = in_channels, int(num_classes), num_timesteps
        self.base_channels, self.encoder_channels = base_channels, encoder_channels
        self.resblocks_per_downsample = int(resblocks_per_downsample)
        self.use_rescale_timesteps = use_rescale_timesteps
        self.output_cfg = dict(output_cfg or dict(mean="eps", var="learned_range"))
        self.mean_mode = self.output_cfg.get("mean", "eps")
        self.var_mode = self.output_cfg.get("var", "learned_range")
        if str(self.var_mode).upper() not in VAR_MODES:
            raise ConfigError(f"DenoisingUnet: output_cfg.var must be one of {VAR_MODES}, got {self.var_mode!r}")
        self.out_channels = out_channels or (in_channels if "FIXED" in self.var_mode.upper() else 2 * in_channels)
        self.channel_factor_list = _channel_factors(channels_cfg, self.image_size)
        embedding_channels = base_channels * 4 if embedding_channels == -1 else embedding_channels
        self.time_embedding = TimeEmbedding(base_channels, embedding_channels, time_embedding_mode,
                                            time_embedding_cfg, act_cfg)
        if self.num_classes:
            self.label_embedding = nn.Embedding(self.num_classes, embedding_channels)
        self.resblock_cfg = self._block_cfg(resblock_cfg, "resblock_cfg", "DenoisingResBlock", dict(
            dropout=dropout, norm_cfg=norm_cfg, act_cfg=act_cfg, embedding_channels=embedding_channels,
            use_scale_shift_norm=use_scale_shift_norm, shortcut_kernel_size=shortcut_kernel_size))
        attention_type = (attention_cfg or {}).get("type") if isinstance(attention_cfg, dict) else None
        self.attention_cfg = self._block_cfg(attention_cfg, "attention_cfg", attention_type,
                                             dict(num_heads=num_heads, norm_cfg=norm_cfg))
        self.updown = dict(resblock_updown=resblock_updown, embedding_channels=embedding_channels, dropout=dropout,
                           use_scale_shift_norm=use_scale_shift_norm, norm_cfg=norm_cfg,
                           downsample=self._block_cfg(downsample_cfg, "downsample_cfg", "DenoisingDownsample",
                                                      dict(with_conv=downsample_conv)),
                           upsample=self._block_cfg(upsample_cfg, "upsample_cfg", "DenoisingUpsample",
                                                    dict(with_conv=upsample_conv)))
        attention_scales = [self.image_size // int(res) for res in attention_res]
        self._build(attention_scales, norm_cfg, act_cfg)
        self._zero_init()

    @staticmethod
    def _block_cfg(cfg: Any, field: str, expected: str | None, defaults: dict) -> dict:
        known = ("DenoisingResBlock", "DenoisingDownsample", "DenoisingUpsample", "MultiHeadAttentionBlock",
                 "MultiHeadAttention")
        if not isinstance(cfg, dict) or cfg.get("type") != expected or expected not in known:
            raise ConfigError(f"DenoisingUnet: {field} must be dict(type={expected if expected in known else known}"
                              f", ...), got {cfg!r}")
        return {**defaults, **cfg}

    def _resblock(self, in_channels: int, out_channels: int | None = None) -> DenoisingResBlock:
        kwargs = {key: value for key, value in self.resblock_cfg.items() if key != "type"}
        return DenoisingResBlock(in_channels=in_channels, out_channels=out_channels, **kwargs)

    def _resample(self, channels: int, up: bool) -> nn.Module:
        spec = self.updown
        if spec["resblock_updown"]:
            return DenoisingResBlock(channels, spec["embedding_channels"], spec["use_scale_shift_norm"],
                                     spec["dropout"], norm_cfg=spec["norm_cfg"], out_channels=channels, up=up,
                                     down=not up)
        with_conv = (spec["upsample"] if up else spec["downsample"])["with_conv"]
        return DenoisingUpsample(channels, with_conv) if up else DenoisingDownsample(channels, with_conv)

    def _build(self, attention_scales: list[int], norm_cfg: Any, act_cfg: Any) -> None:
        factors, base = self.channel_factor_list, self.base_channels
        channels = int(base * factors[0])
        self.in_blocks = nn.ModuleList([EmbedSequential(nn.Conv2d(self.in_channels, channels, 3, 1, padding=1))])
        skips, scale = [channels], 1
        for level, factor in enumerate(factors):
            for _ in range(self.resblocks_per_downsample):
                layers = [self._resblock(channels, int(base * factor))]
                channels = int(base * factor)
                if scale in attention_scales:
                    layers.append(build_attention(self.attention_cfg, channels))
                skips.append(channels)
                self.in_blocks.append(EmbedSequential(*layers))
            if level != len(factors) - 1:
                self.in_blocks.append(EmbedSequential(self._resample(channels, up=False)))
                skips.append(channels)
                scale *= 2
        self.mid_blocks = EmbedSequential(self._resblock(channels), build_attention(self.attention_cfg, channels),
                                          self._resblock(channels))
        self.out_blocks = nn.ModuleList()
        for level, factor in enumerate(factors[::-1]):
            for index in range(self.resblocks_per_downsample + 1):
                layers = [self._resblock(channels + skips.pop(), int(base * factor))]
                channels = int(base * factor)
                if scale in attention_scales:
                    layers.append(build_attention(self.attention_cfg, channels))
                if level != len(factors) - 1 and index == self.resblocks_per_downsample:
                    layers.append(self._resample(channels, up=True))
                    scale //= 2
                self.out_blocks.append(EmbedSequential(*layers))
        self.out = OutputHead(channels, self.out_channels, norm_cfg, act_cfg)

    def _zero_init(self) -> None:
        """Improved DDPM's initialisation, as MMagic applies it: the res-blocks' second conv, the output
        conv and the attention projections start at zero."""
        for name, module in self.named_modules():
            zero = (isinstance(module, nn.Conv2d) and ("conv_2" in name or ("out" in name and "out_blocks" not in name))
                    or isinstance(module, nn.Conv1d) and "proj" in name)
            if zero:
                nn.init.zeros_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x_t: torch.Tensor, t: Any, encoder_hidden_states: Any = None, label: Any = None,
                return_noise: bool = False) -> dict[str, torch.Tensor]:
        if not torch.is_tensor(t):
            t = torch.tensor([t], dtype=torch.long, device=x_t.device)
        elif t.dim() == 0:
            t = t[None].to(x_t.device)
        embedding = self.time_embedding(t)
        if label is not None:
            if not self.num_classes:
                raise ConfigError("DenoisingUnet: a label was given to an unconditional network (num_classes=0)")
            embedding = self.label_embedding(label) + embedding
        h, skips = x_t, []
        for block in self.in_blocks:
            h = block(h, embedding)
            skips.append(h)
        h = self.mid_blocks(h, embedding)
        for block in self.out_blocks:
            h = block(torch.cat([h, skips.pop()], dim=1), embedding)
        return {"sample": self.out(h)}
