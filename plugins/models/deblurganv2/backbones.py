"""The two backbones of DeblurGANv2's FPN generators, with MMagic 1.2.0's module names (so its
checkpoints' ``fpn.inception.*`` / ``fpn.features.*`` keys load): Inception-ResNet-v2 (Szegedy et al.
2017; Cadene's ``pretrainedmodels`` layout, BN eps 1e-3) and MobileNetV2 (Sandler et al. 2018, width 1).

The FPN taps the backbone at five depths; the stages after the last tap (Inception's ``repeat_2``,
``block8``, ``conv2d_7b``, ``last_linear``; MobileNet's last blocks) are kept because MMagic keeps them:
they hold weights in its checkpoints and count in its parameter total, but never run.
"""
from __future__ import annotations

import math

import torch
from torch import nn


class BasicConv2d(nn.Module):
    """conv (no bias) -> BN (TensorFlow's eps 1e-3) -> ReLU."""

    def __init__(self, in_planes: int, out_planes: int, kernel_size, stride: int, padding=0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_planes, out_planes, kernel_size, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_planes, eps=0.001, momentum=0.1)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))


def _chain(*specs) -> nn.Sequential:
    """BasicConv2d layers from (in, out, kernel, stride, padding) tuples."""
    return nn.Sequential(*(BasicConv2d(i, o, k, stride=s, padding=p) for i, o, k, s, p in specs))


class _Branches(nn.Module):
    """Runs ``branch0..branchN`` on one input and concatenates their outputs along channels."""

    def branches(self, x: torch.Tensor) -> torch.Tensor:
        outs, index = [], 0
        while hasattr(self, f"branch{index}"):
            outs.append(getattr(self, f"branch{index}")(x))
            index += 1
        return torch.cat(outs, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.branches(x)


class Mixed_5b(_Branches):  # noqa: N801 (MMagic's class names, kept for the reader comparing the two)
    def __init__(self) -> None:
        super().__init__()
        self.branch0 = BasicConv2d(192, 96, 1, stride=1)
        self.branch1 = _chain((192, 48, 1, 1, 0), (48, 64, 5, 1, 2))
        self.branch2 = _chain((192, 64, 1, 1, 0), (64, 96, 3, 1, 1), (96, 96, 3, 1, 1))
        self.branch3 = nn.Sequential(nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
                                     BasicConv2d(192, 64, 1, stride=1))


class _Residual(_Branches):
    """Inception-ResNet block: ``relu(x + scale · conv2d(concat(branches)))`` (no ReLU with ``no_relu``)."""

    def __init__(self, channels: int, concat: int, scale: float, no_relu: bool = False) -> None:
        super().__init__()
        self.scale, self.noReLU = scale, no_relu
        self.conv2d = nn.Conv2d(concat, channels, 1, stride=1)
        if not no_relu:
            self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2d(self.branches(x)) * self.scale + x
        return out if self.noReLU else self.relu(out)


class Block35(_Residual):
    def __init__(self, scale: float = 1.0) -> None:
        super().__init__(320, 128, scale)
        self.branch0 = BasicConv2d(320, 32, 1, stride=1)
        self.branch1 = _chain((320, 32, 1, 1, 0), (32, 32, 3, 1, 1))
        self.branch2 = _chain((320, 32, 1, 1, 0), (32, 48, 3, 1, 1), (48, 64, 3, 1, 1))


class Block17(_Residual):
    def __init__(self, scale: float = 1.0) -> None:
        super().__init__(1088, 384, scale)
        self.branch0 = BasicConv2d(1088, 192, 1, stride=1)
        self.branch1 = _chain((1088, 128, 1, 1, 0), (128, 160, (1, 7), 1, (0, 3)), (160, 192, (7, 1), 1, (3, 0)))


class Block8(_Residual):
    def __init__(self, scale: float = 1.0, noReLU: bool = False) -> None:  # noqa: N803 (MMagic's name)
        super().__init__(2080, 448, scale, no_relu=noReLU)
        self.branch0 = BasicConv2d(2080, 192, 1, stride=1)
        self.branch1 = _chain((2080, 192, 1, 1, 0), (192, 224, (1, 3), 1, (0, 1)), (224, 256, (3, 1), 1, (1, 0)))


class Mixed_6a(_Branches):  # noqa: N801
    def __init__(self) -> None:
        super().__init__()
        self.branch0 = BasicConv2d(320, 384, 3, stride=2)
        self.branch1 = _chain((320, 256, 1, 1, 0), (256, 256, 3, 1, 1), (256, 384, 3, 2, 0))
        self.branch2 = nn.MaxPool2d(3, stride=2)


class Mixed_7a(_Branches):  # noqa: N801
    def __init__(self) -> None:
        super().__init__()
        self.branch0 = _chain((1088, 256, 1, 1, 0), (256, 384, 3, 2, 0))
        self.branch1 = _chain((1088, 256, 1, 1, 0), (256, 288, 3, 2, 0))
        self.branch2 = _chain((1088, 256, 1, 1, 0), (256, 288, 3, 1, 1), (288, 320, 3, 2, 0))
        self.branch3 = nn.MaxPool2d(3, stride=2)


class InceptionResNetV2(nn.Module):
    """Inception-ResNet-v2 (299×299 ImageNet classifier; the FPN reads its stem and first two stages)."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.conv2d_1a = BasicConv2d(3, 32, 3, stride=2)
        self.conv2d_2a = BasicConv2d(32, 32, 3, stride=1)
        self.conv2d_2b = BasicConv2d(32, 64, 3, stride=1, padding=1)
        self.maxpool_3a = nn.MaxPool2d(3, stride=2)
        self.conv2d_3b = BasicConv2d(64, 80, 1, stride=1)
        self.conv2d_4a = BasicConv2d(80, 192, 3, stride=1)
        self.maxpool_5a = nn.MaxPool2d(3, stride=2)
        self.mixed_5b = Mixed_5b()
        self.repeat = nn.Sequential(*(Block35(scale=0.17) for _ in range(10)))
        self.mixed_6a = Mixed_6a()
        self.repeat_1 = nn.Sequential(*(Block17(scale=0.10) for _ in range(20)))
        self.mixed_7a = Mixed_7a()
        self.repeat_2 = nn.Sequential(*(Block8(scale=0.20) for _ in range(9)))
        self.block8 = Block8(noReLU=True)
        self.conv2d_7b = BasicConv2d(2080, 1536, 1, stride=1)
        self.avgpool_1a = nn.AvgPool2d(8, count_include_pad=False)
        self.last_linear = nn.Linear(1536, num_classes)

    def load_imagenet(self, path: str) -> None:
        """The 1001-class ImageNet file (class 0: background) -> this 1000-class network, as MMagic does."""
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = {**state, "last_linear.weight": state["last_linear.weight"][1:],
                 "last_linear.bias": state["last_linear.bias"][1:]}
        self.load_state_dict(state)


def _conv_bn(inp: int, oup: int, kernel: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inp, oup, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(oup),
                         nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    """[1×1 expand ->] 3×3 depthwise -> 1×1 linear projection; identity shortcut at stride 1, in == out."""

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = round(inp * expand_ratio)
        self.use_res_connect = stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers += [nn.Conv2d(inp, hidden, 1, 1, 0, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True)]
        layers += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
                   nn.ReLU6(inplace=True), nn.Conv2d(hidden, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


# (expansion t, channels c, repeats n, first stride s) of MobileNetV2
MOBILENET_V2_SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                        (6, 160, 3, 2), (6, 320, 1, 1))


def mobilenet_v2_features() -> nn.Sequential:
    """MobileNetV2's ``features`` (width 1): stem, 17 inverted residuals, 1×1 conv to 1280; MMagic's
    He-normal init (fan-out) of the convolutions."""
    layers: list[nn.Module] = [_conv_bn(3, 32, 3, 2)]
    channels = 32
    for t, c, n, s in MOBILENET_V2_SETTING:
        for index in range(n):
            layers.append(InvertedResidual(channels, c, s if index == 0 else 1, expand_ratio=t))
            channels = c
    layers.append(_conv_bn(channels, 1280, 1, 1))
    features = nn.Sequential(*layers)
    for module in features.modules():
        if isinstance(module, nn.Conv2d):
            fan_out = module.kernel_size[0] * module.kernel_size[1] * module.out_channels
            module.weight.data.normal_(0, math.sqrt(2.0 / fan_out))
    return features
