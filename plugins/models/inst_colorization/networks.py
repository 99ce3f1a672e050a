"""InstColorization's networks with MMagic 1.2.0's names, arguments and state-dict keys (``model1`` …
``model10``, ``model8up``/``model3short8``…, ``model_class``, ``model_out``; FusionNet's ``weight_layer*``).

``ColorizationNet`` (Zhang et al. 2017's user-guided colorization trunk) maps (L, ab hints, hint mask) to
ab in [-1, 1] and returns (class logits, ab, feature maps); ``FusionNet`` is the same trunk with a
``WeightLayer`` after each stage that blends the instance network's features, resized into their boxes,
with the full image's through per-pixel softmax weights (Su et al. 2020, "Instance-aware Image
Colorization").

``base_channels`` (mgx's, default 64 = MMagic's widths 64/128/256/512) narrows every stage for tests.
"""
from __future__ import annotations

from functools import partial
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError

NUM_AB_BINS = 529  # the 23 × 23 quantised ab classes of the classification head
STAGE_FEATURES = ("conv1_2", "conv2_2", "conv3_3", "conv4_3", "conv5_3", "conv6_3", "conv7_3", "conv8_up",
                  "conv8_3", "conv9_up", "conv9_3", "conv10_up", "conv10_2")


def norm_layer(norm_type: str, who: str) -> Any:
    """MMagic's ``get_norm_layer``: 'batch' (affine), 'instance' (not affine) or 'none'."""
    if norm_type == "batch":
        return partial(nn.BatchNorm2d, affine=True)
    if norm_type == "instance":
        return partial(nn.InstanceNorm2d, affine=False)
    if norm_type == "none":
        return None
    raise ConfigError(f"{who}: norm_type must be 'batch', 'instance' or 'none', got {norm_type!r}")


def conv_stage(channels: list[int], norm: Any, dilation: int = 1, leading_relu: bool = False) -> nn.Sequential:
    """3×3 convolutions ``channels[0] → channels[1] → …``, each followed by ReLU, then the norm (MMagic's
    layer order: keys 0, 2, 4… are the convolutions, the norm last); ``leading_relu`` puts a ReLU first."""
    layers: list[nn.Module] = [nn.ReLU(True)] if leading_relu else []
    for cin, cout in zip(channels[:-1], channels[1:]):
        layers += [nn.Conv2d(cin, cout, 3, 1, dilation, dilation=dilation), nn.ReLU(True)]
    if norm is not None:
        layers.append(norm(channels[-1]))
    return nn.Sequential(*layers)


class ColorizationTrunk(nn.Module):
    """The layers ColorizationNet and FusionNet share (module docstring)."""

    def __init__(self, input_nc: int, output_nc: int, norm_type: str, use_tanh: bool = True,
                 classification: bool = True, base_channels: int = 64, who: str = "ColorizationNet") -> None:
        super().__init__()
        if input_nc != 4:
            raise ConfigError(f"{who}: input_nc must be 4 (L, two ab hints, the hint mask), got {input_nc!r}")
        if not isinstance(base_channels, int) or base_channels < 1:
            raise ConfigError(f"{who}: base_channels must be a positive integer, got {base_channels!r}")
        self.input_nc, self.output_nc, self.classification = input_nc, output_nc, bool(classification)
        norm = norm_layer(norm_type, who)
        c1, c2, c3, c4 = (base_channels * m for m in (1, 2, 4, 8))
        self.model1 = conv_stage([input_nc, c1, c1], norm)
        self.model2 = conv_stage([c1, c2, c2], norm)
        self.model3 = conv_stage([c2, c3, c3, c3], norm)
        self.model4 = conv_stage([c3, c4, c4, c4], norm)
        self.model5 = conv_stage([c4, c4, c4, c4], norm, dilation=2)
        self.model6 = conv_stage([c4, c4, c4, c4], norm, dilation=2)
        self.model7 = conv_stage([c4, c4, c4, c4], norm)
        self.model8up = nn.ConvTranspose2d(c4, c3, 4, 2, 1)
        self.model3short8 = nn.Conv2d(c3, c3, 3, 1, 1)
        self.model8 = conv_stage([c3, c3, c3], norm, leading_relu=True)
        self.model9up = nn.ConvTranspose2d(c3, c2, 4, 2, 1)
        self.model2short9 = nn.Conv2d(c2, c2, 3, 1, 1)
        self.model9 = conv_stage([c2, c2], norm, leading_relu=True)
        self.model10up = nn.ConvTranspose2d(c2, c2, 4, 2, 1)
        self.model1short10 = nn.Conv2d(c1, c2, 3, 1, 1)
        self.model10 = nn.Sequential(nn.ReLU(True), nn.Conv2d(c2, c2, 3, 1, 1), nn.LeakyReLU(negative_slope=0.2))
        self.model_class = nn.Conv2d(c3, NUM_AB_BINS, 1)
        self.model_out = nn.Sequential(nn.Conv2d(c2, 2, 1), *([nn.Tanh()] if use_tanh else []))
        self.upsample4 = nn.Upsample(scale_factor=4, mode="nearest")
        self.softmax = nn.Softmax(dim=1)

    @staticmethod
    def check_input(input_a: torch.Tensor, who: str) -> None:
        if input_a.shape[-1] % 8 or input_a.shape[-2] % 8:
            raise ConfigError(f"{who}: image sides must be multiples of 8 (three 2× downsamplings and back), got "
                              f"{tuple(input_a.shape[-2:])}; resize to e.g. 256×256 as MMagic's config does")


class ColorizationNet(ColorizationTrunk):
    """(L, ab hints, hint mask) → (class logits, ab, {stage name: feature map})."""

    def forward(self, input_a: torch.Tensor, input_b: torch.Tensor,
                mask_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        self.check_input(input_a, "ColorizationNet")
        feats: dict[str, torch.Tensor] = {}
        feats["conv1_2"] = self.model1(torch.cat((input_a, input_b, mask_b), dim=1))
        feats["conv2_2"] = self.model2(feats["conv1_2"][:, :, ::2, ::2])
        feats["conv3_3"] = self.model3(feats["conv2_2"][:, :, ::2, ::2])
        feats["conv4_3"] = self.model4(feats["conv3_3"][:, :, ::2, ::2])
        feats["conv5_3"] = self.model5(feats["conv4_3"])
        feats["conv6_3"] = self.model6(feats["conv5_3"])
        feats["conv7_3"] = self.model7(feats["conv6_3"])
        feats["conv8_up"] = self.model8up(feats["conv7_3"]) + self.model3short8(feats["conv3_3"])
        feats["conv8_3"] = self.model8(feats["conv8_up"])
        # classification: the regression branch does not train the trunk below it, and the reverse
        cut_reg = (lambda t: t.detach()) if self.classification else (lambda t: t)
        cut_class = (lambda t: t) if self.classification else (lambda t: t.detach())
        out_class = self.model_class(cut_class(feats["conv8_3"]))
        feats["conv9_up"] = self.model9up(cut_reg(feats["conv8_3"])) + self.model2short9(cut_reg(feats["conv2_2"]))
        feats["conv9_3"] = self.model9(feats["conv9_up"])
        feats["conv10_up"] = self.model10up(feats["conv9_3"]) + self.model1short10(cut_reg(feats["conv1_2"]))
        feats["conv10_2"] = self.model10(feats["conv10_up"])
        out_reg = self.model_out(feats["conv10_2"])
        feats["out_reg"] = out_reg
        return out_class, out_reg, feats


def resize_and_pad(features: torch.Tensor, box: list[int]) -> torch.Tensor:
    """Instance features resized (bilinear) to the box and zero-padded to the full image's size;
    ``box = [left pad, right pad, top pad, bottom pad, width, height]``."""
    left, right, top, bottom, width, height = box
    resized = F.interpolate(features, size=(height, width), mode="bilinear", align_corners=False)
    return F.pad(resized, (left, right, top, bottom), "constant", 0.0)


class WeightLayer(nn.Module):
    """Per-pixel softmax weights over (each instance's features in its box, the full image's features);
    keys ``simple_instance_conv.{0,2,4}``, ``simple_bg_conv.{0,2,4}``. Outside every box the image's
    features win (their logit gets +1e5)."""

    def __init__(self, input_ch: int, inner_ch: int = 16) -> None:
        super().__init__()

        def weight_net() -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(input_ch, inner_ch, 3, 1, 1), nn.ReLU(True),
                                 nn.Conv2d(inner_ch, inner_ch, 3, 1, 1), nn.ReLU(True),
                                 nn.Conv2d(inner_ch, 1, 3, 1, 1), nn.ReLU(True))

        self.simple_instance_conv = weight_net()
        self.simple_bg_conv = weight_net()
        self.normalize = nn.Softmax(1)

    def forward(self, instance_feature: torch.Tensor, bg_feature: torch.Tensor,
                box_info: torch.Tensor) -> torch.Tensor:
        logits, features = [], []
        covered = torch.zeros_like(bg_feature[:1, :1])
        for index, box in enumerate(box_info.tolist()):
            crop = instance_feature[index:index + 1]
            logits.append(resize_and_pad(self.simple_instance_conv(crop), box))
            features.append(resize_and_pad(crop, box))
            inside = torch.zeros_like(covered)
            inside[:, :, box[2]:box[2] + box[5], box[0]:box[0] + box[4]] = 1.0
            covered = torch.clamp(covered + inside, 0.0, 1.0)
        logits.append(self.simple_bg_conv(bg_feature) + (1 - covered) * 100000.0)
        features.append(bg_feature)
        weights = self.normalize(torch.cat(logits, 1)).permute(1, 0, 2, 3)
        return (torch.cat(features, 0) * weights).sum(0, keepdim=True)


FUSION_BOXES = {"conv1_2": 0, "conv2_2": 1, "conv3_3": 2, "conv4_3": 3, "conv5_3": 3, "conv6_3": 3, "conv7_3": 3,
                "conv8_up": 2, "conv8_3": 2, "conv9_up": 1, "conv9_3": 1, "conv10_up": 0, "conv10_2": 0}


class FusionNet(ColorizationTrunk):
    """The full-image trunk fused with instance features at every stage (module docstring); one image at a
    time. ``forward(L, hints, mask, instance feature maps, [box_info, _2x, _4x, _8x]) → ab``."""

    WEIGHT_LAYERS = {"conv1_2": "weight_layer", "conv2_2": "weight_layer2", "conv3_3": "weight_layer3",
                     "conv4_3": "weight_layer4", "conv5_3": "weight_layer5", "conv6_3": "weight_layer6",
                     "conv7_3": "weight_layer7", "conv8_up": "weight_layer8_1", "conv8_3": "weight_layer8_2",
                     "conv9_up": "weight_layer9_1", "conv9_3": "weight_layer9_2", "conv10_up": "weight_layer10_1",
                     "conv10_2": "weight_layer10_2"}

    def __init__(self, input_nc: int, output_nc: int, norm_type: str, use_tanh: bool = True,
                 classification: bool = True, base_channels: int = 64) -> None:
        super().__init__(input_nc, output_nc, norm_type, use_tanh, classification, base_channels, "FusionNet")
        c1, c2, c3, c4 = (base_channels * m for m in (1, 2, 4, 8))
        widths = {"conv1_2": c1, "conv2_2": c2, "conv3_3": c3, "conv4_3": c4, "conv5_3": c4, "conv6_3": c4,
                  "conv7_3": c4, "conv8_up": c3, "conv8_3": c3, "conv9_up": c2, "conv9_3": c2, "conv10_up": c2,
                  "conv10_2": c2}
        for stage, name in self.WEIGHT_LAYERS.items():
            self.add_module(name, WeightLayer(widths[stage]))
        self.weight_layerout = WeightLayer(2)

    def fuse(self, stage: str, x: torch.Tensor, instance_feature: dict, boxes: list) -> torch.Tensor:
        return getattr(self, self.WEIGHT_LAYERS[stage])(instance_feature[stage], x, boxes[FUSION_BOXES[stage]])

    def forward(self, input_a: torch.Tensor, input_b: torch.Tensor, mask_b: torch.Tensor,
                instance_feature: dict, box_info_list: list) -> torch.Tensor:
        self.check_input(input_a, "FusionNet")
        f, b = instance_feature, box_info_list
        conv1_2 = self.fuse("conv1_2", self.model1(torch.cat((input_a, input_b, mask_b), dim=1)), f, b)
        conv2_2 = self.fuse("conv2_2", self.model2(conv1_2[:, :, ::2, ::2]), f, b)
        conv3_3 = self.fuse("conv3_3", self.model3(conv2_2[:, :, ::2, ::2]), f, b)
        x = self.fuse("conv4_3", self.model4(conv3_3[:, :, ::2, ::2]), f, b)
        for stage, layer in (("conv5_3", self.model5), ("conv6_3", self.model6), ("conv7_3", self.model7)):
            x = self.fuse(stage, layer(x), f, b)
        x = self.fuse("conv8_up", self.model8up(x) + self.model3short8(conv3_3), f, b)
        x = self.fuse("conv8_3", self.model8(x), f, b)
        x = self.fuse("conv9_up", self.model9up(x) + self.model2short9(conv2_2), f, b)
        x = self.fuse("conv9_3", self.model9(x), f, b)
        x = self.fuse("conv10_up", self.model10up(x) + self.model1short10(conv1_2), f, b)
        x = self.fuse("conv10_2", self.model10(x), f, b)
        return self.model_out(x)


__all__ = ["ColorizationNet", "FusionNet", "WeightLayer", "resize_and_pad"]
