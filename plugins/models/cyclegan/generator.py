"""MMagic's ``ResnetGenerator`` (CycleGAN): 7×7 stem, two stride-2 down-samplings, ``num_blocks``
residual blocks, two transposed-conv up-samplings, 7×7 Tanh head; keys ``model.<i>.conv|in.*`` and
``model.<i>.block.<j>.conv.*`` as MMagic's."""
from __future__ import annotations

import torch
from torch import nn

from mgx.core.errors import ConfigError

from ..ops.conv_module import ConvModule, generation_init_weights, init_type_and_gain, norm_type
from ..ops.patch_discriminator import positive_int


class ResidualBlockWithDropout(nn.Module):
    """x + (3×3 conv-norm-ReLU [-Dropout(0.5)] - 3×3 conv-norm), no activation after the sum."""

    def __init__(self, channels: int, padding_mode: str, norm_cfg: dict = dict(type="BN"),
                 use_dropout: bool = True) -> None:
        super().__init__()
        use_bias = norm_cfg["type"].startswith("IN")
        layer = dict(bias=use_bias, norm_cfg=norm_cfg, padding_mode=padding_mode, who="ResnetGenerator")
        block: list[nn.Module] = [ConvModule(channels, channels, 3, 1, 1, **layer)]
        if use_dropout:
            block.append(nn.Dropout(0.5))
        block.append(ConvModule(channels, channels, 3, 1, 1, act_cfg=None, **layer))
        self.block = nn.Sequential(*block)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    """Images N×in_channels×H×W (H, W multiples of 4) -> N×out_channels×H×W in [-1, 1]."""

    def __init__(self, in_channels: int, out_channels: int, base_channels: int = 64,
                 norm_cfg: dict = dict(type="IN"), use_dropout: bool = False, num_blocks: int = 9,
                 padding_mode: str = "reflect", init_cfg: dict | None = dict(type="normal", gain=0.02)) -> None:
        super().__init__()
        who = "ResnetGenerator"
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("base_channels", base_channels)):
            positive_int(value, name, who)
        if isinstance(num_blocks, bool) or not isinstance(num_blocks, int) or num_blocks < 0:
            raise ConfigError(f"{who}: num_blocks must be a non-negative int, got {num_blocks!r}")
        if norm_type(norm_cfg, who) is None:
            raise ConfigError(f"{who}: norm_cfg must be dict(type='IN') or dict(type='BN'), got None")
        self.in_channels = in_channels
        use_bias = norm_cfg["type"].startswith("IN")
        norm = dict(norm_cfg=norm_cfg, who=who)
        layers: list[nn.Module] = [ConvModule(in_channels, base_channels, 7, 1, 3, bias=use_bias,
                                              padding_mode=padding_mode, **norm)]
        for index in range(2):
            width = base_channels * 2 ** index
            layers.append(ConvModule(width, width * 2, 3, 2, 1, bias=use_bias, **norm))
        layers += [ResidualBlockWithDropout(base_channels * 4, padding_mode, norm_cfg, use_dropout)
                   for _ in range(num_blocks)]
        for index in range(2):
            width = base_channels * 2 ** (2 - index)
            layers.append(ConvModule(width, width // 2, 3, 2, 1, bias=use_bias, transposed=True, output_padding=1,
                                     **norm))
        layers.append(ConvModule(base_channels, out_channels, 7, 1, 3, bias=True, norm_cfg=None,
                                 act_cfg=dict(type="Tanh"), padding_mode=padding_mode, who=who))
        self.model = nn.Sequential(*layers)
        generation_init_weights(self, *init_type_and_gain(init_cfg, who))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels or x.shape[2] % 4 or x.shape[3] % 4:
            raise ValueError(f"ResnetGenerator: input must be N×{self.in_channels}×H×W with H and W multiples of 4, "
                             f"got {tuple(x.shape)}")
        return self.model(x)


__all__ = ["ResidualBlockWithDropout", "ResnetGenerator"]
