"""``DeblurGanV2Generator`` (MMagic's name and arguments): a feature-pyramid generator on an
Inception-ResNet-v2 (``backbone='FPNInception'``, or ``'FPNInceptionSimple'`` without the top-down
convs) or MobileNetV2 (``'FPNMobileNet'``) backbone, predicting a residual:
``clamp(tanh(final(...)) + x, -1, 1)`` for inputs in [-1, 1].

As in MMagic the backbone starts frozen (``unfreeze()`` releases it; ``DeblurGanV2`` calls it after
``warmup_num`` epochs), norm layers are 'instance' (InstanceNorm with running statistics, no affine)
or 'batch', and module names equal MMagic's, so its checkpoints load as they are (the backbone is
reachable twice, as ``fpn.inception``/``fpn.features`` and as ``fpn.enc0..4``, and saved under both).

mgx's addition: ``pretrained`` says where the ImageNet backbone comes from. MMagic always loads
Inception-ResNet-v2's ImageNet weights (a download) and never MobileNet's; mgx's default
(``'imagenet'`` for the Inception FPNs, None for MobileNet) does the same through its weights path
(``$MGX_INCEPTIONRESNETV2_PATH``, the cache, or one checked download); None keeps random weights, a
file path loads that file.
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from mgx.core.errors import ConfigError

from ...feature_extractors.weights import WeightsSpec, resolve_weights
from .backbones import InceptionResNetV2, mobilenet_v2_features

INCEPTION_RESNET_V2_WEIGHTS = WeightsSpec(
    filename="inceptionresnetv2-520b38e4.pth",
    url="https://download.openxlab.org.cn/models/xiaomile/DeblurGANv2/weight/inceptionresnetv2-520b38e4.pth",
    sha256="520b38e4", env_var="MGX_INCEPTIONRESNETV2_PATH", description="Inception-ResNet-v2 (ImageNet, 1001 classes)")
BACKBONES = ("FPNInception", "FPNMobileNet", "FPNInceptionSimple")


def get_norm_layer(norm_type: str, who: str):
    """MMagic's norm factories: 'instance' (no affine, running statistics kept) or 'batch'."""
    if norm_type == "batch":
        return functools.partial(nn.BatchNorm2d, affine=True)
    if norm_type == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=True)
    raise ConfigError(f"{who}: norm_layer must be 'instance' or 'batch', got {norm_type!r}")


def _up(x: torch.Tensor, factor: int) -> torch.Tensor:
    return x if factor == 1 else F.interpolate(x, scale_factor=factor, mode="nearest")


def _conv_norm_relu(in_ch: int, out_ch: int, norm_layer, inplace: bool = True) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_ch, out_ch, 3, padding=1), norm_layer(out_ch), nn.ReLU(inplace=inplace))


class FPNHead(nn.Module):
    def __init__(self, num_in: int, num_mid: int, num_out: int) -> None:
        super().__init__()
        self.block0 = nn.Conv2d(num_in, num_mid, 3, padding=1, bias=False)
        self.block1 = nn.Conv2d(num_mid, num_out, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.block1(F.relu(self.block0(x))))


class _Pyramid(nn.Module):
    """Bottom-up encoder ``enc0..enc4``, 1×1 laterals and (unless ``simple``) 3×3 top-down convs ``td1..3``."""

    def __init__(self, lateral_in: tuple, num_filter: int, norm_layer, simple: bool) -> None:
        super().__init__()
        self.simple = simple
        if not simple:
            for index in (1, 2, 3):
                setattr(self, f"td{index}", _conv_norm_relu(num_filter, num_filter, norm_layer))
        for index, channels in enumerate(lateral_in):
            out = num_filter // 2 if index == 0 else num_filter
            setattr(self, f"lateral{index}", nn.Conv2d(channels, out, 1, bias=False))

    def top_down(self, index: int, lateral: torch.Tensor, upper: torch.Tensor) -> torch.Tensor:
        merged = lateral + _up(upper, 2)
        return merged if self.simple else getattr(self, f"td{index}")(merged)

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = [self.enc0(x)]
        for index in range(1, 5):
            feats.append(getattr(self, f"enc{index}")(feats[-1]))
        return feats


class FPNInceptionPyramid(_Pyramid):
    """MMagic's ``FPN_inception`` / ``FPN_inceptionsimple``: the unpadded Inception stages give odd sizes,
    which reflection padding brings back onto the ×2 ladder."""

    def __init__(self, norm_layer, num_filter: int, simple: bool, pretrained) -> None:
        super().__init__((32, 64, 192, 1088, 2080), num_filter, norm_layer, simple)
        self.inception = net = InceptionResNetV2(num_classes=1000)
        if pretrained is not None:
            path = None if pretrained == "imagenet" else pretrained
            net.load_imagenet(str(resolve_weights(INCEPTION_RESNET_V2_WEIGHTS, path)))
        self.enc0 = net.conv2d_1a
        self.enc1 = nn.Sequential(net.conv2d_2a, net.conv2d_2b, net.maxpool_3a)
        self.enc2 = nn.Sequential(net.conv2d_3b, net.conv2d_4a, net.maxpool_5a)
        self.enc3 = nn.Sequential(net.mixed_5b, net.repeat, net.mixed_6a)
        self.enc4 = nn.Sequential(net.repeat_1, net.mixed_7a)
        self.pad = nn.ReflectionPad2d(1)
        self.inception.requires_grad_(False)

    def backbone(self) -> nn.Module:
        return self.inception

    def forward(self, x: torch.Tensor):
        enc0, enc1, enc2, enc3, enc4 = self.encode(x)
        map4 = self.pad(self.lateral4(enc4))
        map3 = self.top_down(1, self.pad(self.lateral3(enc3)), map4)
        map2 = self.top_down(2, F.pad(self.lateral2(enc2), (1, 2, 1, 2), "reflect"), map3)
        map1 = self.top_down(3, self.pad(self.lateral1(enc1)), map2)
        return F.pad(self.lateral0(enc0), (0, 1, 0, 1), "reflect"), map1, map2, map3, map4


class FPNMobileNetPyramid(_Pyramid):
    """MMagic's ``FPN_mobilenet``: MobileNetV2's features cut at strides 2, 4, 8, 16, 32."""

    def __init__(self, norm_layer, num_filter: int, pretrained) -> None:
        super().__init__((16, 24, 32, 64, 160), num_filter, norm_layer, simple=False)
        self.features = mobilenet_v2_features()
        if pretrained is not None:  # MMagic: a MobileNetV2 state dict with features.* (and classifier.*) keys
            state = torch.load(pretrained, map_location="cpu", weights_only=True)
            self.features.load_state_dict({k[len("features."):]: v for k, v in state.items()
                                           if k.startswith("features.")})
        for index, (start, stop) in enumerate(((0, 2), (2, 4), (4, 7), (7, 11), (11, 16))):
            setattr(self, f"enc{index}", nn.Sequential(*self.features[start:stop]))
        self.features.requires_grad_(False)

    def backbone(self) -> nn.Module:
        return self.features

    def forward(self, x: torch.Tensor):
        enc0, enc1, enc2, enc3, enc4 = self.encode(x)
        map4 = self.lateral4(enc4)
        map3 = self.top_down(1, self.lateral3(enc3), map4)
        map2 = self.top_down(2, self.lateral2(enc2), map3)
        map1 = self.top_down(3, self.lateral1(enc1), map2)
        return self.lateral0(enc0), map1, map2, map3, map4


class FPNGenerator(nn.Module):
    """Four FPN heads upsampled to 1/4 scale, merged, refined at 1/2 with the stride-2 lateral, then a
    3×3 conv at full size; output = clamp(tanh(out) + x, -1, 1)."""

    def __init__(self, fpn: nn.Module, norm_layer, output_ch: int, num_filter: int, num_filter_fpn: int) -> None:
        super().__init__()
        self.fpn = fpn
        for index in (1, 2, 3, 4):
            setattr(self, f"head{index}", FPNHead(num_filter_fpn, num_filter, num_filter))
        self.smooth = _conv_norm_relu(4 * num_filter, num_filter, norm_layer, inplace=False)
        self.smooth2 = _conv_norm_relu(num_filter, num_filter // 2, norm_layer, inplace=False)
        self.final = nn.Conv2d(num_filter // 2, output_ch, 3, padding=1)

    def unfreeze(self) -> None:
        """Let the backbone train (MMagic freezes it for the first ``warmup_num`` epochs)."""
        self.fpn.backbone().requires_grad_(True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        map0, map1, map2, map3, map4 = self.fpn(x)
        heads = [_up(self.head4(map4), 8), _up(self.head3(map3), 4), _up(self.head2(map2), 2), self.head1(map1)]
        smoothed = _up(self.smooth(torch.cat(heads, dim=1)), 2)
        smoothed = _up(self.smooth2(smoothed + map0), 2)
        return torch.clamp(torch.tanh(self.final(smoothed)) + x, min=-1, max=1)


class DeblurGanV2Generator:
    """Builds the FPN generator ``backbone`` names (MMagic returns that network itself, not a wrapper,
    so its state-dict keys carry no extra prefix)."""

    def __new__(cls, backbone: str, norm_layer: str = "instance", output_ch: int = 3, num_filter: int = 128,
                num_filter_fpn: int = 256, pretrained: str | None = "default") -> FPNGenerator:
        who = "DeblurGanV2Generator"
        if backbone not in BACKBONES:
            raise ConfigError(f"{who}: backbone must be one of {list(BACKBONES)}, got {backbone!r}")
        if isinstance(num_filter_fpn, int) and isinstance(num_filter, int) and num_filter_fpn // 2 != num_filter:
            raise ConfigError(f"{who}: num_filter must be num_filter_fpn // 2 (the stride-2 lateral is added to the "
                              f"merged heads), got num_filter={num_filter}, num_filter_fpn={num_filter_fpn}")
        for name, value in (("output_ch", output_ch), ("num_filter", num_filter), ("num_filter_fpn", num_filter_fpn)):
            if isinstance(value, bool) or not isinstance(value, int) or value < (1 if name == "output_ch" else 2):
                raise ConfigError(f"{who}: {name} must be a positive int (≥ 2 for widths), got {value!r}")
        norm = get_norm_layer(norm_layer, who)
        if backbone == "FPNMobileNet":
            fpn = FPNMobileNetPyramid(norm, num_filter_fpn, None if pretrained == "default" else pretrained)
        else:
            source = "imagenet" if pretrained == "default" else pretrained
            fpn = FPNInceptionPyramid(norm, num_filter_fpn, backbone == "FPNInceptionSimple", source)
        return FPNGenerator(fpn, norm, output_ch, num_filter, num_filter_fpn)
