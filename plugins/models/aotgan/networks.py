"""AOT-GAN's generator with MMagic 1.2.0's names, arguments and state-dict keys: ``AOTEncoder`` (a 7×7
reflection-padded convolution and two stride-2 ones), ``AOTBlockNeck`` (``num_aotblock`` AOT blocks) and
``AOTDecoder`` (two ×2 bilinear upsamplings, tanh), composed by ``AOTEncoderDecoder``.

An AOT block (Zeng et al. 2022, "Aggregated Contextual Transformations") splits its convolution into one
branch per dilation rate (``in_channels // 4`` channels each, reflection padding), concatenates and fuses
them, and blends the result into its input through a gate: ``x·(1 − g) + fused·g`` with
``g = sigmoid(5·(2·(y − mean(y)) / (std(y) + 1e-9) − 1))``, ``y`` a convolution of ``x`` and the mean and
(unbiased) std taken per channel over the image.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError

from ..global_local.networks import GLEncoderDecoder
from ..ops.conv_module import ConvModule

WHO = "AOTEncoderDecoder"


class AOTEncoder(nn.Module):
    """``encoder`` = [ReflectionPad2d(3), 7×7 conv, 4×4 stride-2 conv, 4×4 stride-2 conv] (keys
    ``encoder.1.conv.*``, ``encoder.2.conv.*``, ``encoder.3.conv.*``)."""

    def __init__(self, in_channels: int = 4, mid_channels: int = 64, out_channels: int = 256,
                 act_cfg: dict | None = dict(type="ReLU")) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.ReflectionPad2d(3),
            ConvModule(in_channels, mid_channels, 7, 1, act_cfg=act_cfg, who="AOTEncoder"),
            ConvModule(mid_channels, mid_channels * 2, 4, 2, 1, act_cfg=act_cfg, who="AOTEncoder"),
            ConvModule(mid_channels * 2, out_channels, 4, 2, 1, act_cfg=act_cfg, who="AOTEncoder"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)


class AOTDecoder(nn.Module):
    """Three 3×3 convolutions (``decoder.0..2``), the first two after ×2 bilinear upsampling
    (align_corners=True), the last without activation; then tanh."""

    def __init__(self, in_channels: int = 256, mid_channels: int = 128, out_channels: int = 3,
                 act_cfg: dict | None = dict(type="ReLU")) -> None:
        super().__init__()
        self.decoder = nn.ModuleList([
            ConvModule(in_channels, mid_channels, 3, 1, 1, act_cfg=act_cfg, who="AOTDecoder"),
            ConvModule(mid_channels, mid_channels // 2, 3, 1, 1, act_cfg=act_cfg, who="AOTDecoder"),
            ConvModule(mid_channels // 2, out_channels, 3, 1, 1, act_cfg=None, who="AOTDecoder")])
        self.output_act = nn.Tanh()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for index, layer in enumerate(self.decoder):
            if index <= 1:
                x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)
            x = layer(x)
        return self.output_act(x)


class AOTBlock(nn.Module):
    """One AOT block (module docstring); keys ``blocks.<i>.1.conv.*``, ``fuse.1.conv.*``, ``gate.1.conv.*``."""

    def __init__(self, in_channels: int = 256, dilation_rates: tuple[int, ...] = (1, 2, 4, 8),
                 act_cfg: dict | None = dict(type="ReLU")) -> None:
        super().__init__()
        if in_channels % 4 or len(dilation_rates) * (in_channels // 4) != in_channels:
            raise ConfigError(f"AOTBlockNeck: in_channels={in_channels} must be divisible by 4 and split into "
                              f"{len(dilation_rates)} branches of in_channels // 4 (dilation_rates="
                              f"{tuple(dilation_rates)}): use 4 dilation rates")
        self.dilation_rates = tuple(int(rate) for rate in dilation_rates)
        self.blocks = nn.ModuleList([
            nn.Sequential(nn.ReflectionPad2d(rate), ConvModule(in_channels, in_channels // 4, 3, dilation=rate,
                                                               act_cfg=act_cfg, who="AOTBlock"))
            for rate in self.dilation_rates])
        self.fuse = nn.Sequential(nn.ReflectionPad2d(1), ConvModule(in_channels, in_channels, 3, act_cfg=None))
        self.gate = nn.Sequential(nn.ReflectionPad2d(1), ConvModule(in_channels, in_channels, 3, act_cfg=None))

    @staticmethod
    def normalize(x: torch.Tensor) -> torch.Tensor:
        """``5·(2·(x − mean) / (std + 1e-9) − 1)`` per sample and channel (MMagic's layer norm of the gate)."""
        mean = x.mean((2, 3), keepdim=True)
        std = x.std((2, 3), keepdim=True) + 1e-9
        return 5 * (2 * (x - mean) / std - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fused = self.fuse(torch.cat([branch(x) for branch in self.blocks], dim=1))
        gate = torch.sigmoid(self.normalize(self.gate(x)))
        return x * (1 - gate) + fused * gate


class AOTBlockNeck(nn.Module):
    """``model`` = ``num_aotblock`` AOT blocks in sequence."""

    def __init__(self, in_channels: int = 256, dilation_rates: tuple[int, ...] = (1, 2, 4, 8),
                 num_aotblock: int = 8, act_cfg: dict | None = dict(type="ReLU"), **kwargs: Any) -> None:
        super().__init__()
        if not isinstance(num_aotblock, int) or num_aotblock < 1:
            raise ConfigError(f"AOTBlockNeck: num_aotblock must be a positive integer, got {num_aotblock!r}")
        self.dilation_rates = list(dilation_rates)
        self.model = nn.Sequential(*[AOTBlock(in_channels, self.dilation_rates, act_cfg)
                                     for _ in range(num_aotblock)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class AOTEncoderDecoder(GLEncoderDecoder):
    """encoder → AOT blocks → decoder (MMagic's defaults: AOTEncoder, AOTBlockNeck, AOTDecoder)."""

    def __init__(self, encoder: dict | None = None, decoder: dict | None = None,
                 dilation_neck: dict | None = None) -> None:
        super().__init__(encoder or dict(type="AOTEncoder"), decoder or dict(type="AOTDecoder"),
                         dilation_neck or dict(type="AOTBlockNeck"))


__all__ = ["AOTBlock", "AOTBlockNeck", "AOTDecoder", "AOTEncoder", "AOTEncoderDecoder"]
