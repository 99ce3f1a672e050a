"""DIM's networks (Xu et al. 2017) with MMagic 1.2.0's names, arguments and state-dict keys: the ``VGG16``
encoder (5 conv stages, each ending in a max-pool whose indices it returns, then a 1×1 ``conv6``), the
``PlainDecoder`` (max-unpooling with those indices, 5×5 convs) and the ``PlainRefiner`` (4 3×3 convs on
image + predicted alpha, added to the raw alpha before the sigmoid)."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from mgx.core.errors import ConfigError

from ..ops.aspp import ASPP

STAGES = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))  # (channels, convs) of VGG16's 5 stages


def _xavier(module: nn.Module) -> None:
    """MMEngine's xavier_init: uniform Xavier weights (gain 1), zero biases."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


class VGG16(nn.Module):
    """VGG16 without its classifier; ``forward`` returns ``out`` and the 5 pools' ``max_idx_<i>``."""

    def __init__(self, in_channels: int, batch_norm: bool = False, aspp: bool = False, dilations: Any = None,
                 init_cfg: dict | None = None) -> None:
        super().__init__()
        if init_cfg is not None:
            raise ConfigError("VGG16: init_cfg=dict(type='Pretrained', ...) belongs on the encoder in "
                              "SimpleEncoderDecoder, which loads it")
        self.batch_norm, self.with_aspp = bool(batch_norm), bool(aspp)
        channels = in_channels
        for index, (planes, convs) in enumerate(STAGES, start=1):
            setattr(self, f"layer{index}", self._make_layer(channels, planes, convs))
            channels = planes
        self.conv6 = nn.Conv2d(512, 512, kernel_size=1)
        if self.batch_norm:
            self.bn = nn.BatchNorm2d(512)
        self.relu = nn.ReLU(inplace=True)
        if self.with_aspp:
            self.aspp = ASPP(512, dilations=dilations if dilations is not None else (12, 24, 36))
        self.out_channels = 256 if self.with_aspp else 512
        _xavier(self)

    def _make_layer(self, channels: int, planes: int, convs: int) -> nn.Sequential:
        layers: list[nn.Module] = []
        for _ in range(convs):
            layers.append(nn.Conv2d(channels, planes, kernel_size=3, padding=1))
            if self.batch_norm:
                layers.append(nn.BatchNorm2d(planes))
            layers.append(nn.ReLU(inplace=True))
            channels = planes
        layers.append(nn.MaxPool2d(kernel_size=2, stride=2, return_indices=True))
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        features: dict[str, torch.Tensor] = {}
        for index in range(1, 6):
            x, features[f"max_idx_{index}"] = getattr(self, f"layer{index}")(x)
        x = self.conv6(x)
        if self.batch_norm:
            x = self.bn(x)
        x = self.relu(x)
        if self.with_aspp:
            x = self.aspp(x)
        features["out"] = x
        return features


class PlainDecoder(nn.Module):
    """1×1 ``deconv6_1``, then per stage a max-unpool and a 5×5 conv, and the 5×5 ``deconv1`` to 1 channel."""

    def __init__(self, in_channels: int, init_cfg: dict | None = None) -> None:
        super().__init__()
        self.deconv6_1 = nn.Conv2d(in_channels, 512, kernel_size=1)
        self.deconv5_1 = nn.Conv2d(512, 512, kernel_size=5, padding=2)
        self.deconv4_1 = nn.Conv2d(512, 256, kernel_size=5, padding=2)
        self.deconv3_1 = nn.Conv2d(256, 128, kernel_size=5, padding=2)
        self.deconv2_1 = nn.Conv2d(128, 64, kernel_size=5, padding=2)
        self.deconv1_1 = nn.Conv2d(64, 64, kernel_size=5, padding=2)
        self.deconv1 = nn.Conv2d(64, 1, kernel_size=5, padding=2)
        self.relu = nn.ReLU(inplace=True)
        _xavier(self)

    @staticmethod
    def max_unpool2d(x: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        """``nn.MaxUnpool2d(2, 2)``: each value back at its pooled position, zeros elsewhere. A scatter to
        unique positions (2×2 windows do not overlap) is deterministic, which torch's unpooling kernel is
        not declared to be (--deterministic would refuse it)."""
        n, c, h, w = x.shape
        out = x.new_zeros(n, c, 4 * h * w)
        return out.scatter(2, indices.flatten(2), x.flatten(2)).view(n, c, 2 * h, 2 * w)

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        out = self.relu(self.deconv6_1(inputs["out"]))
        for stage, conv in zip(range(5, 0, -1), (self.deconv5_1, self.deconv4_1, self.deconv3_1, self.deconv2_1,
                                                 self.deconv1_1)):
            out = self.relu(conv(self.max_unpool2d(out, inputs[f"max_idx_{stage}"])))
        return self.deconv1(out)


class PlainRefiner(nn.Module):
    """sigmoid(raw_alpha + refine(cat(image, predicted alpha)))."""

    def __init__(self, conv_channels: int = 64, init_cfg: dict | None = None) -> None:
        super().__init__()
        self.refine_conv1 = nn.Conv2d(4, conv_channels, kernel_size=3, padding=1)
        self.refine_conv2 = nn.Conv2d(conv_channels, conv_channels, kernel_size=3, padding=1)
        self.refine_conv3 = nn.Conv2d(conv_channels, conv_channels, kernel_size=3, padding=1)
        self.refine_pred = nn.Conv2d(conv_channels, 1, kernel_size=3, padding=1)
        self.relu = nn.ReLU(inplace=True)
        _xavier(self)

    def forward(self, x: torch.Tensor, raw_alpha: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.refine_conv1(x))
        out = self.relu(self.refine_conv2(out))
        out = self.relu(self.refine_conv3(out))
        return torch.sigmoid(raw_alpha + self.refine_pred(out))


__all__ = ["PlainDecoder", "PlainRefiner", "VGG16"]
