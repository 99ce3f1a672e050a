"""MMagic's ``UnetGenerator`` (Pix2Pix): nested skip blocks, state-dict keys as MMagic's
(``model.model.0.conv.weight``, ``model.model.1.model.1.model.0.bn.running_mean``, …)."""
from __future__ import annotations

import torch
from torch import nn

from mgx.core.errors import ConfigError

from ..ops.conv_module import ConvModule, generation_init_weights, init_type_and_gain, norm_type
from ..ops.patch_discriminator import positive_int


class UnetSkipConnectionBlock(nn.Module):
    """down (LeakyReLU 0.2 -> 4×4 stride-2 conv -> norm) - ``submodule`` - up (ReLU -> 4×4 stride-2
    transposed conv -> norm) [- Dropout(0.5)]; the input is concatenated to the output except in the
    outermost block (which ends with Tanh and has no down activation or norms). The innermost block
    has no down norm and no submodule."""

    def __init__(self, outer_channels: int, inner_channels: int, in_channels: int | None = None,
                 submodule: nn.Module | None = None, is_outermost: bool = False, is_innermost: bool = False,
                 norm_cfg: dict = dict(type="BN"), use_dropout: bool = False) -> None:
        super().__init__()
        who = "UnetGenerator"
        self.is_outermost = is_outermost
        use_bias = norm_cfg["type"].startswith("IN")
        in_channels = outer_channels if in_channels is None else in_channels
        down_norm, down_act = norm_cfg, dict(type="LeakyReLU", negative_slope=0.2)
        up_norm, up_bias, up_in = norm_cfg, use_bias, inner_channels * 2
        middle, upper = [submodule], []
        if is_outermost:
            down_norm, down_act, up_norm, up_bias, upper = None, None, None, True, [nn.Tanh()]
        elif is_innermost:
            down_norm, up_in, middle = None, inner_channels, []
        elif use_dropout:
            upper = [nn.Dropout(0.5)]
        order = ("act", "conv", "norm")
        down = ConvModule(in_channels, inner_channels, 4, 2, 1, bias=use_bias, norm_cfg=down_norm,
                          act_cfg=down_act, order=order, who=who)
        up = ConvModule(up_in, outer_channels, 4, 2, 1, bias=up_bias, transposed=True, norm_cfg=up_norm,
                        act_cfg=dict(type="ReLU"), order=order, who=who)
        self.model = nn.Sequential(down, *middle, up, *upper)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.is_outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    """``num_down`` ×2 down-samplings (inputs must be divisible by 2**num_down) and as many up-samplings;
    widths base, ×2, ×4, then ×8 for the inner ``num_down - 4`` levels (dropout in the inner ones but
    the innermost when ``use_dropout``)."""

    def __init__(self, in_channels: int, out_channels: int, num_down: int = 8, base_channels: int = 64,
                 norm_cfg: dict = dict(type="BN"), use_dropout: bool = False,
                 init_cfg: dict | None = dict(type="normal", gain=0.02)) -> None:
        super().__init__()
        who = "UnetGenerator"
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("base_channels", base_channels), ("num_down", num_down)):
            positive_int(value, name, who)
        if num_down < 5:
            raise ConfigError(f"{who}: num_down must be ≥ 5 (MMagic's U-Net has 5 fixed levels), got {num_down}")
        if norm_type(norm_cfg, who) is None:
            raise ConfigError(f"{who}: norm_cfg must be dict(type='BN') or dict(type='IN'), got None")
        self.in_channels, self.num_down = in_channels, num_down
        block = dict(norm_cfg=norm_cfg)
        unet = UnetSkipConnectionBlock(base_channels * 8, base_channels * 8, is_innermost=True, **block)
        for _ in range(num_down - 5):
            unet = UnetSkipConnectionBlock(base_channels * 8, base_channels * 8, submodule=unet,
                                           use_dropout=use_dropout, **block)
        for outer in (4, 2, 1):
            unet = UnetSkipConnectionBlock(base_channels * outer, base_channels * outer * 2, submodule=unet, **block)
        self.model = UnetSkipConnectionBlock(out_channels, base_channels, in_channels=in_channels, submodule=unet,
                                             is_outermost=True, **block)
        generation_init_weights(self, *init_type_and_gain(init_cfg, who))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = 2 ** self.num_down
        if x.dim() != 4 or x.shape[1] != self.in_channels or x.shape[2] % size or x.shape[3] % size:
            raise ValueError(f"UnetGenerator: input must be N×{self.in_channels}×H×W with H and W multiples of "
                             f"2**num_down = {size}, got {tuple(x.shape)}")
        return self.model(x)


__all__ = ["UnetGenerator", "UnetSkipConnectionBlock"]
