"""``FLAVRNet`` under MMagic's name, arguments and state-dict keys: a 3D-ResNet encoder over time and
space (``encoder``), a 3D up-convolution decoder with gated skip joins (``decoder``), a 1×1 fusion of the
frames' features and a 7×7 head."""
from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn

from mgx.core.errors import ConfigError

from .layers import Conv3dGated, Conv3dModule, ResBlock3d, SEGating, UpConv3d


class Encoder(nn.Module):
    """Stem (3×7×7, spatial stride 2) and four stages of ``ResBlock3d``; stages 2 and 3 halve H and W."""

    def __init__(self, layers: Sequence[int], mid_channels_list: Sequence[int], norm_cfg: Any, bias: bool) -> None:
        super().__init__()
        self.in_channels, self.bias, self.norm_cfg = mid_channels_list[0], bias, norm_cfg
        self.stem_layer = Conv3dModule(3, mid_channels_list[0], (3, 7, 7), (1, 2, 2), (1, 3, 3), bias, norm_cfg,
                                       act=True)
        self.layer1 = self._make_layer(mid_channels_list[0], layers[0], stride=1, temporal_stride=None)
        self.layer2 = self._make_layer(mid_channels_list[1], layers[1], stride=2, temporal_stride=1)
        self.layer3 = self._make_layer(mid_channels_list[2], layers[2], stride=2, temporal_stride=1)
        self.layer4 = self._make_layer(mid_channels_list[3], layers[3], stride=1, temporal_stride=1)
        for module in self.modules():  # MMagic's Encoder._initialize_weights
            if isinstance(module, nn.Conv3d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm3d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def _make_layer(self, channels: int, blocks: int, stride: int, temporal_stride: int | None) -> nn.Sequential:
        downsample, block_stride = None, (1, 1, 1)
        if stride != 1 or self.in_channels != channels:
            block_stride = (temporal_stride or stride, stride, stride)
            downsample = Conv3dModule(self.in_channels, channels, 1, block_stride, 0, False, self.norm_cfg, act=False)
        layers = [ResBlock3d(self.in_channels, channels, block_stride, self.norm_cfg, self.bias, downsample)]
        self.in_channels = channels
        layers += [ResBlock3d(channels, channels, (1, 1, 1), self.norm_cfg, self.bias) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x_0 = self.stem_layer(x)
        x_1 = self.layer1(x_0)
        x_2 = self.layer2(x_1)
        x_3 = self.layer3(x_2)
        return x_0, x_1, x_2, x_3, self.layer4(x_3)


class Decoder(nn.Module):
    """Up the encoder's features, joined ('concat' or 'add') with each stage's, to the stem's resolution ×2;
    the time axis is then stacked on the channels."""

    def __init__(self, join_type: str, up_mode: str, mid_channels_list: Sequence[int], batchnorm: bool) -> None:
        super().__init__()
        growth = 2 if join_type == "concat" else 1
        c = mid_channels_list
        self.join_type = join_type
        self.lrelu = nn.LeakyReLU(0.2, True)
        self.layer0 = Conv3dGated(c[0], c[1], 3, 1, 1, bias=True, batchnorm=batchnorm)
        self.layer1 = UpConv3d(c[1] * growth, c[2], (3, 4, 4), (1, 2, 2), (1, 1, 1), up_mode, batchnorm)
        self.layer2 = UpConv3d(c[2] * growth, c[3], (3, 4, 4), (1, 2, 2), (1, 1, 1), up_mode, batchnorm)
        self.layer3 = Conv3dGated(c[3] * growth, c[3], 3, 1, 1, bias=True, batchnorm=batchnorm)
        self.layer4 = UpConv3d(c[3] * growth, c[3], (3, 4, 4), (1, 2, 2), (1, 1, 1), up_mode, batchnorm)

    def _join(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        return torch.cat([x1, x2], dim=1) if self.join_type == "concat" else x1 + x2

    def forward(self, xs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        dx_3 = self._join(self.lrelu(self.layer0(xs[4])), xs[3])
        dx_2 = self._join(self.lrelu(self.layer1(dx_3)), xs[2])
        dx_1 = self._join(self.lrelu(self.layer2(dx_2)), xs[1])
        dx_0 = self._join(self.lrelu(self.layer3(dx_1)), xs[0])
        dx_out = self.lrelu(self.layer4(dx_0))
        return torch.cat(torch.unbind(dx_out, 2), 1)


class FLAVRNet(nn.Module):
    """N×T×3×H×W (T = ``num_input_frames``, H and W multiples of 8) -> the ``num_output_frames`` frames
    between the middle two: N×3×H×W for one, N×t×3×H×W for more. The frames' mean is removed before the
    network and added back after. ``norm_cfg``: None or dict(type='BN3d'); ``join_type``: 'concat' or
    'add'; ``up_mode``: 'transpose' or a trilinear upsample + 1×1 conv."""

    def __init__(self, num_input_frames: int, num_output_frames: int,
                 mid_channels_list: Sequence[int] = (512, 256, 128, 64),
                 encoder_layers_list: Sequence[int] = (2, 2, 2, 2), bias: bool = False, norm_cfg: Any = None,
                 join_type: str = "concat", up_mode: str = "transpose", init_cfg: dict | None = None) -> None:
        super().__init__()
        if norm_cfg is not None and norm_cfg != dict(type="BN3d"):
            raise ConfigError(f"FLAVRNet: norm_cfg must be None or dict(type='BN3d'), got {norm_cfg!r}")
        if join_type not in ("concat", "add"):
            raise ConfigError(f"FLAVRNet: join_type must be 'concat' or 'add', got {join_type!r}")
        if len(mid_channels_list) != 4 or len(encoder_layers_list) != 4:
            raise ConfigError(f"FLAVRNet: mid_channels_list and encoder_layers_list need 4 entries, got "
                              f"{list(mid_channels_list)} and {list(encoder_layers_list)}")
        channels = list(mid_channels_list)
        self.encoder = Encoder(list(encoder_layers_list), channels[::-1], norm_cfg, bias)
        self.decoder = Decoder(join_type, up_mode, channels, batchnorm=norm_cfg is not None)
        self.feature_fuse = Conv3dModule(channels[3] * num_input_frames, channels[3], 1, 1, 0, False, norm_cfg,
                                         act=True, two_d=True, slope=0.2)
        self.conv_last = nn.Sequential(nn.ReflectionPad2d(3),
                                       nn.Conv2d(channels[3], 3 * num_output_frames, kernel_size=7, stride=1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        images = images.permute(0, 2, 1, 3, 4)  # N×3×T×H×W
        mean = images.mean((2, 3, 4), keepdim=True)
        out = self.conv_last(self.feature_fuse(self.decoder(self.encoder(images - mean))))
        n, channels, h, w = out.shape
        out = out.view(n, channels // 3, 3, h, w) + mean.view(n, 1, 3, 1, 1)
        return out.squeeze(1)


__all__ = ["FLAVRNet", "SEGating"]
