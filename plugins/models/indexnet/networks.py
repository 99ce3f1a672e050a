"""IndexNet matting's networks (Lu et al., ICCV 2019) with MMagic 1.2.0's names, arguments and state-dict keys.

``IndexNetEncoder``: a MobileNetV2 (an initial 3×3 ConvModule, then 7 stages of inverted residuals with
ReLU6, all stride 1 and explicitly zero-padded) whose downsampling is learnt: after the initial conv and
stages 2, 3, 4 and 6 (32× output stride; 16×: not after 6, stages 6-7 dilated by 2) an index block predicts
encoder and decoder index maps from the features (``m2o``/``o2o``: depthwise, 4 index convs per block;
``holistic``: one conv to 4 channels), the features are weighted by the encoder map, kept as a shortcut and
4 × average-pooled; then ASPP (depthwise-separable, ReLU6) or a 1×1 ConvModule to 160 channels.
``IndexNetDecoder``: per shortcut (deepest first) the features, unpooled by the decoder index map
(nearest upsampling × map), concatenated with the shortcut and a 5×5 ConvModule; then a 5×5 ConvModule and
a 5×5 conv to the alpha.
"""
from __future__ import annotations

from functools import partial
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError

from ..ops.aspp import ASPP, DepthwiseSeparableConvModule
from ..ops.conv_module import ConvModule

BN = dict(type="BN")
RELU6 = dict(type="ReLU6")


def build_index_block(in_channels: int, out_channels: int, kernel_size: int, stride: int = 2, padding: int = 0,
                      groups: int = 1, norm_cfg: Any = BN, use_nonlinear: bool = False,
                      expansion: int = 1) -> nn.Module:
    if use_nonlinear:
        return nn.Sequential(
            ConvModule(in_channels, in_channels * expansion, kernel_size, stride=stride, padding=padding, groups=groups,
                       norm_cfg=norm_cfg, act_cfg=RELU6),
            ConvModule(in_channels * expansion, out_channels, 1, groups=groups, bias=False, act_cfg=None))
    return ConvModule(in_channels, out_channels, kernel_size, stride=stride, padding=padding, groups=groups, bias=False,
                      act_cfg=None)


def _context(use_context: bool) -> tuple[int, int]:
    return (4, 1) if use_context else (2, 0)


class HolisticIndexBlock(nn.Module):
    """One index conv to 4 channels: sigmoid (decoder map) and its softmax (encoder map), pixel-shuffled ×2."""

    def __init__(self, in_channels: int, norm_cfg: Any = BN, use_context: bool = False,
                 use_nonlinear: bool = False) -> None:
        super().__init__()
        kernel_size, padding = _context(use_context)
        self.index_block = build_index_block(in_channels, 4, kernel_size, padding=padding, norm_cfg=norm_cfg,
                                             use_nonlinear=use_nonlinear, expansion=2)
        self.pixel_shuffle = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.sigmoid(self.index_block(x))
        return self.pixel_shuffle(torch.softmax(y, dim=1)), self.pixel_shuffle(y)


class DepthwiseIndexBlock(nn.Module):
    """Four index convs (depthwise for ``o2o``), softmax over the four per channel, pixel-shuffled ×2."""

    def __init__(self, in_channels: int, norm_cfg: Any = BN, use_context: bool = False, use_nonlinear: bool = False,
                 mode: str = "o2o") -> None:
        super().__init__()
        groups = in_channels if mode == "o2o" else 1
        kernel_size, padding = _context(use_context)
        self.index_blocks = nn.ModuleList(
            build_index_block(in_channels, in_channels, kernel_size, padding=padding, groups=groups,
                              norm_cfg=norm_cfg, use_nonlinear=use_nonlinear) for _ in range(4))
        self.pixel_shuffle = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, c, h, w = x.shape
        y = torch.sigmoid(torch.stack([block(x) for block in self.index_blocks], dim=2))
        z = torch.softmax(y, dim=2)
        return (self.pixel_shuffle(z.reshape(n, c * 4, h // 2, w // 2)),
                self.pixel_shuffle(y.reshape(n, c * 4, h // 2, w // 2)))


class InvertedResidual(nn.Module):
    """(1×1 expansion ConvModule,) depthwise-separable 3×3 (ReLU6 after the depthwise, none after the
    pointwise), on the input zero-padded for the dilation; a residual connection when asked."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, dilation: int, expand_ratio: int,
                 norm_cfg: Any, use_res_connect: bool = False) -> None:
        super().__init__()
        self.use_res_connect, self.kernel_size, self.dilation = use_res_connect, 3, dilation
        separable = partial(DepthwiseSeparableConvModule, kernel_size=3, stride=stride, dilation=dilation,
                            norm_cfg=norm_cfg, dw_act_cfg=RELU6, pw_act_cfg=None)
        if expand_ratio == 1:
            self.conv = separable(in_channels, out_channels)
        else:
            hidden = round(in_channels * expand_ratio)
            self.conv = nn.Sequential(ConvModule(in_channels, hidden, 1, norm_cfg=norm_cfg, act_cfg=RELU6),
                                      separable(hidden, out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        effective = self.kernel_size + (self.kernel_size - 1) * (self.dilation - 1)
        out = self.conv(F.pad(x, ((effective - 1) // 2, effective // 2, (effective - 1) // 2, effective // 2)))
        return out + x if self.use_res_connect else out


# (expand ratio, in, out, blocks, stride, dilation) of MobileNetV2's stages
STAGES = ((1, 32, 16, 1, 1, 1), (6, 16, 24, 2, 2, 1), (6, 24, 32, 3, 2, 1), (6, 32, 64, 4, 2, 1),
          (6, 64, 96, 3, 1, 1), (6, 96, 160, 3, 2, 1), (6, 160, 320, 1, 1, 1))


class IndexNetEncoder(nn.Module):
    """MobileNetV2 with index pooling (module docstring). ``freeze_bn`` keeps its BatchNorms in eval mode."""

    def __init__(self, in_channels: int, out_stride: int = 32, width_mult: int = 1, index_mode: str = "m2o",
                 aspp: bool = True, norm_cfg: Any = BN, freeze_bn: bool = False, use_nonlinear: bool = True,
                 use_context: bool = True, init_cfg: dict | None = None) -> None:
        super().__init__()
        if out_stride not in (16, 32):
            raise ConfigError(f"IndexNetEncoder: out_stride must be 16 or 32, got {out_stride!r}")
        if index_mode == "holistic":
            index_block: Any = HolisticIndexBlock
        elif index_mode in ("o2o", "m2o"):
            index_block = partial(DepthwiseIndexBlock, mode=index_mode)
        else:
            raise ConfigError(f"IndexNetEncoder: index_mode must be 'holistic', 'o2o' or 'm2o', got {index_mode!r}")
        self.out_stride, self.width_mult = out_stride, width_mult
        stages = [[ratio, int(cin * width_mult), int(cout * width_mult), blocks, stride, dilation]
                  for ratio, cin, cout, blocks, stride, dilation in STAGES]
        if out_stride == 32:
            self.downsampled_layers = [0, 2, 3, 4, 6]
        else:
            self.downsampled_layers = [0, 2, 3, 4]
            stages[5][5] = stages[6][5] = 2
        self.layers = nn.ModuleList([ConvModule(in_channels, int(32 * width_mult), 3, padding=1, norm_cfg=norm_cfg,
                                                act_cfg=RELU6)])
        self.layers.extend(self._make_layer(stage, norm_cfg) for stage in stages)
        self.freeze_bn = bool(freeze_bn)
        self.index_layers = nn.ModuleList(index_block(stages[layer][1], norm_cfg, use_context, use_nonlinear)
                                          for layer in self.downsampled_layers)
        self.avg_pool = nn.AvgPool2d(2, stride=2)
        if aspp:
            dilations = (2, 4, 8) if out_stride == 32 else (6, 12, 18)
            self.dconv = ASPP(320 * width_mult, 160, mid_channels=int(256 * width_mult), dilations=dilations,
                              norm_cfg=norm_cfg, act_cfg=RELU6, separable_conv=True)
        else:
            self.dconv = ConvModule(320 * width_mult, 160, 1, norm_cfg=norm_cfg, act_cfg=RELU6)
        self.out_channels = 160

    @staticmethod
    def _make_layer(stage: list, norm_cfg: Any) -> nn.Sequential:
        ratio, in_channels, out_channels, blocks, stride, dilation = stage
        first_dilation = max(dilation // 2, 1) if stride == 2 else dilation
        layers = [InvertedResidual(in_channels, out_channels, 1, first_dilation, ratio, norm_cfg)]
        layers += [InvertedResidual(out_channels, out_channels, 1, dilation, ratio, norm_cfg, use_res_connect=True)
                   for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def train(self, mode: bool = True) -> "IndexNetEncoder":
        super().train(mode)
        if mode and self.freeze_bn:
            for module in self.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self

    def forward(self, x: torch.Tensor) -> dict[str, Any]:
        shortcuts: list[torch.Tensor] = []
        dec_idx_feat_list: list[torch.Tensor | None] = []
        for index, layer in enumerate(self.layers):
            x = layer(x)
            if index in self.downsampled_layers:
                enc_idx_feat, dec_idx_feat = self.index_layers[self.downsampled_layers.index(index)](x)
                x = enc_idx_feat * x
                shortcuts.append(x)
                dec_idx_feat_list.append(dec_idx_feat)
                x = 4 * self.avg_pool(x)
            elif index != 7:
                shortcuts.append(x)
                dec_idx_feat_list.append(None)
        return {"out": self.dconv(x), "shortcuts": shortcuts, "dec_idx_feat_list": dec_idx_feat_list}


class IndexedUpsample(nn.Module):
    """Unpool ``x`` by the decoder index map (when there is one), concatenate the shortcut, ConvModule."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 5, norm_cfg: Any = BN,
                 conv_module: Any = ConvModule) -> None:
        super().__init__()
        self.conv = conv_module(in_channels, out_channels, kernel_size, padding=(kernel_size - 1) // 2,
                                norm_cfg=norm_cfg, act_cfg=RELU6)

    def forward(self, x: torch.Tensor, shortcut: torch.Tensor,
                dec_idx_feat: torch.Tensor | None = None) -> torch.Tensor:
        if dec_idx_feat is not None:
            x = dec_idx_feat * F.interpolate(x, size=shortcut.shape[2:])
        return self.conv(torch.cat([x, shortcut], dim=1))


class IndexNetDecoder(nn.Module):
    """Seven ``IndexedUpsample`` stages (module docstring) and the prediction head."""

    def __init__(self, in_channels: int, kernel_size: int = 5, norm_cfg: Any = BN, separable_conv: bool = False,
                 init_cfg: dict | None = None) -> None:
        super().__init__()
        conv_module = DepthwiseSeparableConvModule if separable_conv else ConvModule
        ins = [in_channels * 2, 96 * 2, 64 * 2, 32 * 2, 24 * 2, 16 * 2, 32 * 2]
        outs = [96, 64, 32, 24, 16, 32, 32]
        self.decoder_layers = nn.ModuleList(IndexedUpsample(i, o, kernel_size, norm_cfg, conv_module)
                                            for i, o in zip(ins, outs))
        self.pred = nn.Sequential(
            conv_module(32, 1, kernel_size, padding=(kernel_size - 1) // 2, norm_cfg=norm_cfg, act_cfg=RELU6),
            nn.Conv2d(1, 1, kernel_size, padding=(kernel_size - 1) // 2, bias=False))

    def forward(self, inputs: dict[str, Any]) -> torch.Tensor:
        out = inputs["out"]
        for layer, shortcut, dec_idx_feat in zip(self.decoder_layers, reversed(inputs["shortcuts"]),
                                                 reversed(inputs["dec_idx_feat_list"])):
            out = layer(out, shortcut, dec_idx_feat)
        return self.pred(out)


__all__ = ["DepthwiseIndexBlock", "HolisticIndexBlock", "IndexNetDecoder", "IndexNetEncoder", "IndexedUpsample",
           "InvertedResidual"]
