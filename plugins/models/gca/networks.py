"""GCA matting's ResNet-34-style encoders and decoders with MMagic 1.2.0's names, arguments and state-dict keys:
``ResNetEnc`` / ``ResShortcutEnc`` / ``ResGCAEncoder`` and ``ResNetDec`` / ``ResShortcutDec`` /
``ResGCADecoder``, built from ``BasicBlock`` / ``BasicBlockDec`` (MMCV ConvModules, spectral norm optional).

The encoder: three stem convs (32, 32|64, 64 channels; strides 2, 1, 2, 1 with layer1's, or 1, 2, 1, 2 with
``late_downsample``), then four residual stages (64, 128, 256, 512; stride 2 from the second, a 2×2 average
pool + 1×1 conv on the shortcut). The shortcut variant adds two 3×3 convs (conv, act, norm) per skip feature
(input, stem, stages 1-3); the GCA variant adds the guidance head on the image (three stride-2 convs, reflect
padding, 3 → 16 → 32 → 128) and a ``GCAModule`` after stage 2, passing the image features and the unknown
mask (1/8 size) to the decoder, which has its own ``GCAModule`` after its second stage. The decoder mirrors
it (nearest ×2 + 1×1 conv shortcuts, a 4×4 transposed conv in the first block of each stage).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError

from ..ops.conv_module import ConvModule, build_activation_layer
from .gca_module import GCAModule

BN = dict(type="BN")
RELU = dict(type="ReLU")
LEAKY = dict(type="LeakyReLU", negative_slope=0.2, inplace=True)


class BasicBlock(nn.Module):
    """conv1 (k×k, stride; act) → conv2 (k×k, no act) + shortcut (``interpolation``, else the input) → act."""

    expansion = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 interpolation: nn.Module | None = None, conv_cfg: Any = None, norm_cfg: Any = BN,
                 act_cfg: Any = RELU, with_spectral_norm: bool = False) -> None:
        super().__init__()
        if stride not in (1, 2) or (stride == 2 and interpolation is None):
            raise ConfigError(f"{type(self).__name__}: stride must be 1, or 2 with a shortcut interpolation")
        self.conv1 = self.build_conv1(in_channels, out_channels, kernel_size, stride, norm_cfg, act_cfg,
                                      with_spectral_norm)
        self.conv2 = self.build_conv2(in_channels, out_channels, kernel_size, norm_cfg, with_spectral_norm)
        self.interpolation = interpolation
        self.activation = build_activation_layer(act_cfg, type(self).__name__)
        self.stride = stride

    def build_conv1(self, in_channels, out_channels, kernel_size, stride, norm_cfg, act_cfg, spectral_norm):
        return ConvModule(in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2,
                          norm_cfg=norm_cfg, act_cfg=act_cfg, with_spectral_norm=spectral_norm)

    def build_conv2(self, in_channels, out_channels, kernel_size, norm_cfg, spectral_norm):
        return ConvModule(out_channels, out_channels, kernel_size, padding=kernel_size // 2, norm_cfg=norm_cfg,
                          act_cfg=None, with_spectral_norm=spectral_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = self.interpolation(x) if self.interpolation is not None else x
        return self.activation(self.conv2(self.conv1(x)) + identity)


class BasicBlockDec(BasicBlock):
    """The decoder's block: conv1 keeps the channels (a 4×4 stride-2 transposed conv when upsampling),
    conv2 changes them."""

    def build_conv1(self, in_channels, out_channels, kernel_size, stride, norm_cfg, act_cfg, spectral_norm):
        if stride == 2:
            return ConvModule(in_channels, in_channels, 4, stride=2, padding=1, transposed=True, norm_cfg=norm_cfg,
                              act_cfg=act_cfg, with_spectral_norm=spectral_norm)
        return ConvModule(in_channels, in_channels, kernel_size, padding=kernel_size // 2, norm_cfg=norm_cfg,
                          act_cfg=act_cfg, with_spectral_norm=spectral_norm)

    def build_conv2(self, in_channels, out_channels, kernel_size, norm_cfg, spectral_norm):
        return ConvModule(in_channels, out_channels, kernel_size, padding=kernel_size // 2, norm_cfg=norm_cfg,
                          act_cfg=None, with_spectral_norm=spectral_norm)


def _block(name: str, expected: str, block: type) -> type:
    if name != expected:
        raise ConfigError(f"block must be {expected!r} (the only block MMagic implements here), got {name!r}")
    return block


def _zero_last_norms(module: nn.Module, block: type) -> None:
    """MMagic's init: every residual block starts as the identity (conv2's BatchNorm scale 0)."""
    for layer in module.modules():
        if isinstance(layer, block) and layer.conv2.norm_name:
            nn.init.zeros_(getattr(layer.conv2, layer.conv2.norm_name).weight)


class ResNetEnc(nn.Module):
    """The plain encoder (module docstring); ``forward`` returns the deepest features."""

    def __init__(self, block: str, layers: Any, in_channels: int, conv_cfg: Any = None, norm_cfg: Any = BN,
                 act_cfg: Any = RELU, with_spectral_norm: bool = False, late_downsample: bool = False,
                 init_cfg: dict | None = None) -> None:
        super().__init__()
        block_type = _block(block, "BasicBlock", BasicBlock)
        if init_cfg is not None:
            raise ConfigError(f"{type(self).__name__}: init_cfg belongs on the encoder in SimpleEncoderDecoder")
        if not (isinstance(layers, (list, tuple)) and len(layers) == 4):
            raise ConfigError(f"{type(self).__name__}: layers must list 4 block counts, got {layers!r}")
        self.inplanes, self.midplanes = 64, 64 if late_downsample else 32
        strides = [1, 2, 1, 2] if late_downsample else [2, 1, 2, 1]
        conv = dict(norm_cfg=norm_cfg, act_cfg=act_cfg, with_spectral_norm=with_spectral_norm)
        self.conv1 = ConvModule(in_channels, 32, 3, stride=strides[0], padding=1, **conv)
        self.conv2 = ConvModule(32, self.midplanes, 3, stride=strides[1], padding=1, **conv)
        self.conv3 = ConvModule(self.midplanes, self.inplanes, 3, stride=strides[2], padding=1, **conv)
        for index, (planes, stride) in enumerate(zip((64, 128, 256, 512), (strides[3], 2, 2, 2)), start=1):
            setattr(self, f"layer{index}", self._make_layer(block_type, planes, layers[index - 1], stride, conv))
        self.out_channels = 512
        _zero_last_norms(self, BasicBlock)

    def _make_layer(self, block: type, planes: int, blocks: int, stride: int, conv: dict) -> nn.Sequential:
        downsample = None
        if stride != 1:
            downsample = nn.Sequential(nn.AvgPool2d(2, stride), ConvModule(
                self.inplanes, planes * block.expansion, 1, norm_cfg=conv["norm_cfg"], act_cfg=None,
                with_spectral_norm=conv["with_spectral_norm"]))
        stage = [block(self.inplanes, planes, stride=stride, interpolation=downsample, **conv)]
        self.inplanes = planes * block.expansion
        stage += [block(self.inplanes, planes, **conv) for _ in range(1, blocks)]
        return nn.Sequential(*stage)

    def forward(self, x: torch.Tensor) -> Any:
        x = self.conv3(self.conv2(self.conv1(x)))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


class ResShortcutEnc(ResNetEnc):
    """The encoder with skip features ``feat1`` … ``feat5`` for ``ResShortcutDec``."""

    def __init__(self, block: str, layers: Any, in_channels: int, conv_cfg: Any = None, norm_cfg: Any = BN,
                 act_cfg: Any = RELU, with_spectral_norm: bool = False, late_downsample: bool = False,
                 order: Any = ("conv", "act", "norm"), init_cfg: dict | None = None) -> None:
        super().__init__(block, layers, in_channels, conv_cfg, norm_cfg, act_cfg, with_spectral_norm, late_downsample,
                         init_cfg)
        ins, outs = [in_channels, self.midplanes, 64, 128, 256], [32, self.midplanes, 64, 128, 256]
        conv = dict(padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg, with_spectral_norm=with_spectral_norm,
                    order=tuple(order))
        self.shortcut = nn.ModuleList(nn.Sequential(ConvModule(i, o, 3, **conv), ConvModule(o, o, 3, **conv))
                                      for i, o in zip(ins, outs))

    def stages(self, x: torch.Tensor, between: Any = None) -> dict[str, torch.Tensor]:
        x1 = self.conv2(self.conv1(x))
        x2 = self.layer1(self.conv3(x1))
        x3 = self.layer2(x2)
        if between is not None:
            x3 = between(x3)
        x4 = self.layer3(x3)
        features = {"out": self.layer4(x4)}
        for index, source in enumerate((x, x1, x2, x3, x4)):
            features[f"feat{index + 1}"] = self.shortcut[index](source)
        return features

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.stages(x)


class ResGCAEncoder(ResShortcutEnc):
    """The shortcut encoder with the guidance head and a ``GCAModule`` after stage 2 (``in_channels`` 4: a
    0/1/2 trimap, 6: a one-hot one)."""

    def __init__(self, block: str, layers: Any, in_channels: int, conv_cfg: Any = None, norm_cfg: Any = BN,
                 act_cfg: Any = RELU, with_spectral_norm: bool = False, late_downsample: bool = False,
                 order: Any = ("conv", "act", "norm"), init_cfg: dict | None = None) -> None:
        if in_channels not in (4, 6):
            raise ConfigError(f"ResGCAEncoder: in_channels must be 4 or 6 (image + 1- or 3-channel trimap), "
                              f"got {in_channels}")
        super().__init__(block, layers, in_channels, conv_cfg, norm_cfg, act_cfg, with_spectral_norm, late_downsample,
                         order, init_cfg)
        self.trimap_channels = in_channels - 3
        self.guidance_head = nn.Sequential(*(
            ConvModule(i, o, 3, stride=2, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg,
                       with_spectral_norm=with_spectral_norm, padding_mode="reflect", order=tuple(order))
            for i, o in ((3, 16), (16, 32), (32, 128))))
        self.gca = GCAModule(128, 128)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        img_feat = self.guidance_head(x[:, :3])
        unknown = x[:, 4:5] if self.trimap_channels == 3 else x[:, 3:].eq(1).float()
        unknown = F.interpolate(unknown, scale_factor=1 / 8, mode="nearest")
        features = self.stages(x, between=lambda x3: self.gca(img_feat, x3, unknown))
        features.update(img_feat=img_feat, unknown=unknown)
        return features


class ResNetDec(nn.Module):
    """The plain decoder: four upsampling stages (256, 128, 64, 32|64), a 4×4 transposed conv to 32 and a
    k×k conv to the 1-channel raw alpha."""

    def __init__(self, block: str, layers: Any, in_channels: int, kernel_size: int = 3, conv_cfg: Any = None,
                 norm_cfg: Any = BN, act_cfg: Any = LEAKY, with_spectral_norm: bool = False,
                 late_downsample: bool = False, init_cfg: dict | None = None) -> None:
        super().__init__()
        block_type = _block(block, "BasicBlockDec", BasicBlockDec)
        self.kernel_size, self.inplanes = kernel_size, in_channels
        self.midplanes = 64 if late_downsample else 32
        conv = dict(norm_cfg=norm_cfg, act_cfg=act_cfg, with_spectral_norm=with_spectral_norm)
        for index, planes in enumerate((256, 128, 64, self.midplanes), start=1):
            setattr(self, f"layer{index}", self._make_layer(block_type, planes, layers[index - 1], conv))
        self.conv1 = ConvModule(self.midplanes, 32, 4, stride=2, padding=1, transposed=True, **conv)
        self.conv2 = ConvModule(32, 1, kernel_size, padding=kernel_size // 2, act_cfg=None)
        _zero_last_norms(self, BasicBlockDec)

    def _make_layer(self, block: type, planes: int, blocks: int, conv: dict) -> nn.Sequential:
        upsample = nn.Sequential(nn.UpsamplingNearest2d(scale_factor=2), ConvModule(
            self.inplanes, planes * block.expansion, 1, norm_cfg=conv["norm_cfg"], act_cfg=None,
            with_spectral_norm=conv["with_spectral_norm"]))
        stage = [block(self.inplanes, planes, kernel_size=self.kernel_size, stride=2, interpolation=upsample, **conv)]
        self.inplanes = planes * block.expansion
        stage += [block(self.inplanes, planes, kernel_size=self.kernel_size, **conv) for _ in range(1, blocks)]
        return nn.Sequential(*stage)

    def forward(self, x: Any) -> torch.Tensor:
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.conv2(self.conv1(x))


class ResShortcutDec(ResNetDec):
    """The decoder adding the encoder's skip features after each stage."""

    def run(self, inputs: dict[str, torch.Tensor], between: Any = None) -> torch.Tensor:
        x = self.layer1(inputs["out"]) + inputs["feat5"]
        x = self.layer2(x) + inputs["feat4"]
        if between is not None:
            x = between(x)
        x = self.layer3(x) + inputs["feat3"]
        x = self.layer4(x) + inputs["feat2"]
        x = self.conv1(x) + inputs["feat1"]
        return self.conv2(x)

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.run(inputs)


class ResGCADecoder(ResShortcutDec):
    """The shortcut decoder with a ``GCAModule`` after its second stage."""

    def __init__(self, block: str, layers: Any, in_channels: int, kernel_size: int = 3, conv_cfg: Any = None,
                 norm_cfg: Any = BN, act_cfg: Any = LEAKY, with_spectral_norm: bool = False,
                 late_downsample: bool = False) -> None:
        super().__init__(block, layers, in_channels, kernel_size, conv_cfg, norm_cfg, act_cfg, with_spectral_norm,
                         late_downsample)
        self.gca = GCAModule(128, 128)

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.run(inputs, between=lambda x: self.gca(inputs["img_feat"], x, inputs["unknown"]))


__all__ = ["BasicBlock", "BasicBlockDec", "ResGCADecoder", "ResGCAEncoder", "ResNetDec", "ResNetEnc",
           "ResShortcutDec", "ResShortcutEnc"]
