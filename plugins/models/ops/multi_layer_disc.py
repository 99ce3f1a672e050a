"""MMagic's ``MultiLayerDiscriminator`` (Global&Local's and DeepFill's discriminators) and the
``LinearModule`` it ends with; names, arguments and state-dict keys (``conv1.conv.weight``,
``fc.linear.weight``) as MMagic's.

``num_convs`` stride-2 convolutions with ``min(64·2^i, max_channels)`` channels; then either a fully
connected layer (``fc_in_channels`` = the flattened size of the last feature map, which depends on the
image size), or with ``with_out_convs`` two stride-1 convolutions down to one channel, or neither (the
last convolution then has no norm and ``out_act_cfg``).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from mgx.core.errors import ConfigError

from .conv_module import ConvModule, _activation


class LinearModule(nn.Module):
    """``nn.Linear`` (attribute ``linear``) + optional activation, Kaiming-initialised as MMagic does."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, act_cfg: Any = dict(type="ReLU"),
                 with_spectral_norm: bool = False, who: str = "LinearModule") -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, bias=bias)
        leaky = isinstance(act_cfg, dict) and act_cfg.get("type") == "LeakyReLU"
        slope = act_cfg.get("negative_slope", 0.01) if leaky else 0.0
        nn.init.kaiming_normal_(self.linear.weight, a=slope, mode="fan_out",
                                nonlinearity="leaky_relu" if slope else "relu")
        if bias:
            nn.init.zeros_(self.linear.bias)
        if with_spectral_norm:
            self.linear = nn.utils.spectral_norm(self.linear)
        self.activate = _activation(act_cfg, who)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.linear(x)
        return self.activate(x) if self.activate is not None else x


class MultiLayerDiscriminator(nn.Module):
    """Stacked stride-2 convolutions (module docstring)."""

    def __init__(self, in_channels: int, max_channels: int, num_convs: int = 5, fc_in_channels: int | None = None,
                 fc_out_channels: int = 1024, kernel_size: int = 5, conv_cfg: dict | None = None,
                 norm_cfg: dict | None = None, act_cfg: dict | None = dict(type="ReLU"),
                 out_act_cfg: dict | None = dict(type="ReLU"), with_input_norm: bool = True,
                 with_out_convs: bool = False, with_spectral_norm: bool = False, **kwargs: Any) -> None:
        super().__init__()
        who = "MultiLayerDiscriminator"
        if conv_cfg is not None and conv_cfg.get("type", "Conv2d") not in ("Conv", "Conv2d"):
            raise ConfigError(f"{who}: conv_cfg {conv_cfg!r}: only plain convolutions are supported")
        if fc_in_channels is not None and fc_in_channels <= 0:
            raise ConfigError(f"{who}: fc_in_channels must be positive or None, got {fc_in_channels!r}")
        self.num_convs, self.with_fc, self.with_out_convs = num_convs, fc_in_channels is not None, with_out_convs
        spectral = bool(with_spectral_norm)

        def conv(index: int, cin: int, cout: int, stride: int, norm: Any, act: Any) -> None:
            module = ConvModule(cin, cout, kernel_size, stride, kernel_size // 2, norm_cfg=norm, act_cfg=act,
                                who=who, **kwargs)
            if spectral:
                module.conv = nn.utils.spectral_norm(module.conv)
            self.add_module(f"conv{index}", module)

        channels = in_channels
        for index in range(num_convs):
            out = min(64 * 2 ** index, max_channels)
            norm, act = norm_cfg, act_cfg
            if index == 0 and not with_input_norm:
                norm = None
            elif index == num_convs - 1 and not self.with_fc and not with_out_convs:
                norm, act = None, out_act_cfg
            conv(index + 1, channels, out, 2, norm, act)
            channels = out
        if with_out_convs:
            out = min(64 * 2 ** num_convs, max_channels)
            conv(num_convs + 1, channels, out, 1, norm_cfg, act_cfg)
            conv(num_convs + 2, out, 1, 1, None, None)
        if self.with_fc:
            self.fc = LinearModule(fc_in_channels, fc_out_channels, act_cfg=out_act_cfg,
                                   with_spectral_norm=spectral, who=who)
            nn.init.normal_(self.fc.linear.weight, 0.0, 0.02)  # MMagic's init_weights: every Linear N(0, 0.02)
            nn.init.zeros_(self.fc.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch = x.shape[0]
        for index in range(self.num_convs + 2 * self.with_out_convs):
            x = getattr(self, f"conv{index + 1}")(x)
        if self.with_fc:
            flat = x.reshape(batch, -1)
            if flat.shape[1] != self.fc.linear.in_features:
                raise ConfigError(f"MultiLayerDiscriminator: the last feature map {tuple(x.shape[1:])} flattens to "
                                  f"{flat.shape[1]} values but fc_in_channels is {self.fc.linear.in_features}; set "
                                  f"fc_in_channels for this image size")
            x = self.fc(flat)
        return x


__all__ = ["LinearModule", "MultiLayerDiscriminator"]
