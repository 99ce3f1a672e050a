"""``DICNet`` (MMagic's name, arguments and state-dict keys): DIC's face super-resolution network
(Ma et al. 2020, "Deep Face Super-Resolution with Iterative Collaboration between Attentive Recovery
and Landmark Estimation").

``num_steps`` times: a feedback block restores features (from the second step on, attending to
the face-landmark heatmaps the previous step estimated), a transposed conv makes the 128×128 image
(added to the bilinear upsampling of the input), and the feedback hourglass estimates its
landmarks. Returns the image and the heatmaps of every step.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import MgxError

from .hourglass import FeedbackHourglass, reduce_to_five_heatmaps

_OUTPUT_SIDE = 128  # MMagic's DICNet always upsamples its input's skip path to 128×128


def _with_prelu(layer: nn.Module, prelu_init: float) -> nn.Sequential:
    return nn.Sequential(layer, nn.PReLU(init=prelu_init))


class FeedbackBlock(nn.Module):
    """Feedback block: 1×1 conv of [features, last output] -> ``num_blocks`` up/down projections
    (transposed conv up by ``upscale_factor``, conv down), each fed the concatenation of all
    earlier ones (through 1×1 convs) -> 1×1 conv of all low-resolution projections."""

    def __init__(self, mid_channels: int, num_blocks: int, upscale_factor: int, padding: int = 2,
                 prelu_init: float = 0.2) -> None:
        super().__init__()
        kernel, stride = upscale_factor + 4, upscale_factor
        self.num_blocks = num_blocks
        self.conv_first = _with_prelu(nn.Conv2d(2 * mid_channels, mid_channels, kernel_size=1), prelu_init)
        self.up_blocks, self.down_blocks = nn.ModuleList(), nn.ModuleList()
        self.lr_blocks, self.hr_blocks = nn.ModuleList(), nn.ModuleList()
        for index in range(num_blocks):
            self.up_blocks.append(_with_prelu(
                nn.ConvTranspose2d(mid_channels, mid_channels, kernel, stride, padding), prelu_init))
            self.down_blocks.append(_with_prelu(nn.Conv2d(mid_channels, mid_channels, kernel, stride, padding),
                                                prelu_init))
            if index > 0:
                for blocks in (self.lr_blocks, self.hr_blocks):
                    blocks.append(_with_prelu(nn.Conv2d(mid_channels * (index + 1), mid_channels, kernel_size=1),
                                              prelu_init))
        self.conv_last = _with_prelu(nn.Conv2d(num_blocks * mid_channels, mid_channels, kernel_size=1), prelu_init)

    def project(self, x: torch.Tensor) -> torch.Tensor:
        lr_features, hr_features = [x], []
        for index in range(self.num_blocks):
            lr = torch.cat(lr_features, 1)
            if index > 0:
                lr = self.lr_blocks[index - 1](lr)
            hr_features.append(self.up_blocks[index](lr))
            hr = torch.cat(hr_features, 1)
            if index > 0:
                hr = self.hr_blocks[index - 1](hr)
            lr_features.append(self.down_blocks[index](hr))
        return self.conv_last(torch.cat(lr_features[1:], 1))

    def forward(self, x: torch.Tensor, last_hidden: torch.Tensor) -> torch.Tensor:
        return self.project(self.conv_first(torch.cat((x, last_hidden), dim=1)))


class FeedbackBlockCustom(FeedbackBlock):
    """The first step's block: no feedback yet, its 1×1 conv reads the input features alone."""

    def __init__(self, in_channels: int, mid_channels: int, num_blocks: int, upscale_factor: int) -> None:
        super().__init__(mid_channels, num_blocks, upscale_factor)
        self.conv_first = _with_prelu(nn.Conv2d(in_channels, mid_channels, kernel_size=1), 0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self.project(self.conv_first(x))


class GroupResBlock(nn.Module):
    """x + res_scale · conv(leaky_relu(conv(x))), grouped 3×3 convs."""

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int, groups: int,
                 res_scale: float = 1.0) -> None:
        super().__init__()
        self.res = nn.Sequential(nn.Conv2d(in_channels, mid_channels, 3, 1, 1, groups=groups),
                                 nn.LeakyReLU(negative_slope=0.2, inplace=True),
                                 nn.Conv2d(mid_channels, out_channels, 3, 1, 1, groups=groups))
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.res(x) * self.res_scale


class FeatureHeatmapFusingBlock(nn.Module):
    """One feature group per heatmap (grouped residual blocks), summed weighted by the softmax of the heatmaps."""

    def __init__(self, in_channels: int, num_heatmaps: int, num_blocks: int, mid_channels: int | None = None) -> None:
        super().__init__()
        self.num_heatmaps = num_heatmaps
        width = in_channels * num_heatmaps
        self.mid_channels = width if mid_channels is None else mid_channels
        self.conv_first = nn.Sequential(nn.Conv2d(in_channels, width, kernel_size=1),
                                        nn.LeakyReLU(negative_slope=0.2, inplace=True))
        self.body = nn.Sequential(*(GroupResBlock(width, width, self.mid_channels, num_heatmaps)
                                    for _ in range(num_blocks)))

    def forward(self, feature: torch.Tensor, heatmap: torch.Tensor) -> torch.Tensor:
        if heatmap.size(1) != self.num_heatmaps:
            raise MgxError(f"DICNet: {heatmap.size(1)} heatmaps for a fusion block of num_heatmaps={self.num_heatmaps}")
        feature = self.body(self.conv_first(feature))
        n, _, height, width = feature.shape
        attention = F.softmax(heatmap, dim=1).unsqueeze(2)
        return (feature.view(n, self.num_heatmaps, -1, height, width) * attention).sum(1)


class FeedbackBlockHeatmapAttention(FeedbackBlock):
    """A feedback block whose input features are first fused with the landmark heatmaps."""

    def __init__(self, mid_channels: int, num_blocks: int, upscale_factor: int, num_heatmaps: int,
                 num_fusion_blocks: int, padding: int = 2, prelu_init: float = 0.2) -> None:
        super().__init__(mid_channels, num_blocks, upscale_factor, padding=padding, prelu_init=prelu_init)
        self.fusion_block = FeatureHeatmapFusingBlock(mid_channels, num_heatmaps, num_fusion_blocks)

    def forward(self, x: torch.Tensor, heatmap: torch.Tensor,  # type: ignore[override]
                last_hidden: torch.Tensor) -> torch.Tensor:
        fused = self.fusion_block(self.conv_first(torch.cat((x, last_hidden), dim=1)), heatmap)
        return self.project(fused)


class DICNet(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, mid_channels: int, num_blocks: int = 6,
                 hg_mid_channels: int = 256, hg_num_keypoints: int = 68, num_steps: int = 4, upscale_factor: int = 8,
                 detach_attention: bool = False, prelu_init: float = 0.2, num_heatmaps: int = 5,
                 num_fusion_blocks: int = 7, init_cfg: dict | None = None) -> None:
        super().__init__()
        self.num_steps = num_steps
        self.detach_attention = detach_attention
        self.conv_first = nn.Sequential(nn.Conv2d(in_channels, mid_channels * 4, 3, 1, 1),
                                        nn.PReLU(init=prelu_init), nn.PixelShuffle(2))
        self.first_block = FeedbackBlockCustom(mid_channels, mid_channels, num_blocks, upscale_factor)
        self.block = FeedbackBlockHeatmapAttention(mid_channels, num_blocks, upscale_factor, num_heatmaps,
                                                   num_fusion_blocks)
        self.hour_glass = FeedbackHourglass(hg_mid_channels, hg_num_keypoints)
        self.conv_last = nn.Sequential(nn.ConvTranspose2d(mid_channels, mid_channels, 8, 4, 2),
                                       nn.PReLU(init=prelu_init), nn.Conv2d(mid_channels, out_channels, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """N×C×16×16 faces -> ([N×C×128×128 per step], [N×K×32×32 landmark heatmaps per step])."""
        skip = F.interpolate(x, size=(_OUTPUT_SIDE, _OUTPUT_SIDE), mode="bilinear", align_corners=False)
        x = self.conv_first(x)
        images, heatmaps = [], []
        feature = heatmap = hourglass_feedback = None
        for step in range(self.num_steps):
            if step == 0:
                feature = self.first_block(x)
            else:
                feature = self.block(x, reduce_to_five_heatmaps(heatmap, self.detach_attention), feature)
            image = skip + self.conv_last(feature)
            if image.shape[-2:] != skip.shape[-2:]:
                raise MgxError(f"DICNet: an input of {tuple(x.shape[-2:])} features gives "
                               f"{tuple(image.shape[-2:])} images; DICNet takes 16×16 faces (MMagic: ×8 to 128×128)")
            heatmap, hourglass_feedback = self.hour_glass(image, hourglass_feedback)
            images.append(image)
            heatmaps.append(heatmap)
        return images, heatmaps
