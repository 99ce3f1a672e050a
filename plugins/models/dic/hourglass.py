"""DIC's landmark estimator (MMagic's ``FeedbackHourglass``, state-dict keys included): a stacked
hourglass whose second half of channels is fed back to the next step; and the reduction of 68 (or
194) landmark heatmaps to DIC's five (eyes, nose, mouth, face outline)."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import MgxError


class ResBlock(nn.Module):
    """1×1 conv -> ReLU -> 3×3 conv -> 1×1 conv (at half width), plus the input (through a 1×1 conv
    when the widths differ)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        half = out_channels // 2
        self.conv_block = nn.Sequential(nn.Conv2d(in_channels, half, 1), nn.ReLU(inplace=True),
                                        nn.Conv2d(half, half, 3, stride=1, padding=1), nn.Conv2d(half, out_channels, 1))
        self.skip_layer = None if in_channels == out_channels else nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.conv_block(x)
        return (self.skip_layer(x) if self.skip_layer is not None else x) + residual


class Hourglass(nn.Module):
    """Recursive hourglass of ``depth`` halvings: up1(x) + upsample(low3(low2(low1(pool(x)))))."""

    def __init__(self, depth: int, mid_channels: int) -> None:
        super().__init__()
        self.up1 = ResBlock(mid_channels, mid_channels)
        self.pool = nn.MaxPool2d(2, 2)
        self.low1 = ResBlock(mid_channels, mid_channels)
        self.low2 = ResBlock(mid_channels, mid_channels) if depth == 1 else Hourglass(depth - 1, mid_channels)
        self.low3 = ResBlock(mid_channels, mid_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low = self.low3(self.low2(self.low1(self.pool(x))))
        return self.up1(x) + F.interpolate(low, scale_factor=2, mode="bilinear", align_corners=True)


class FeedbackHourglass(nn.Module):
    """Image -> (landmark heatmaps at 1/4 size, feedback for the next step)."""

    def __init__(self, mid_channels: int, num_keypoints: int) -> None:
        super().__init__()
        self.mid_channels = mid_channels
        self.num_keypoints = num_keypoints
        quarter, half = mid_channels // 4, mid_channels // 2
        self.pre_conv_block = nn.Sequential(
            nn.Conv2d(3, quarter, 7, 2, 3), nn.ReLU(inplace=True), ResBlock(quarter, half), nn.MaxPool2d(2, 2),
            ResBlock(half, half), ResBlock(half, mid_channels))
        self.first_conv = nn.Conv2d(2 * mid_channels, 2 * mid_channels, 1)
        self.hg = Hourglass(4, 2 * mid_channels)
        self.last = nn.Sequential(ResBlock(mid_channels, mid_channels), nn.Conv2d(mid_channels, mid_channels, 1),
                                  nn.ReLU(inplace=True), nn.Conv2d(mid_channels, num_keypoints, 1))

    def forward(self, x: torch.Tensor, last_hidden: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        feature = self.pre_conv_block(x)
        feedback = feature if last_hidden is None else last_hidden  # the first step feeds itself back
        feature = self.hg(self.first_conv(torch.cat((feature, feedback), dim=1)))
        return self.last(feature[:, :self.mid_channels]), feature[:, self.mid_channels:]


# landmark indices of each of DIC's five heatmaps: left eye, right eye, nose, mouth, face outline
_GROUPS = {
    68: [range(36, 42), range(42, 48), range(27, 36), range(48, 68), range(0, 27)],
    194: [[*range(134, 153), *range(174, 193)], [*range(114, 133), *range(154, 173)], range(41, 57),
          range(58, 113), range(0, 40)],  # Helen (as MMagic groups them)
}


def reduce_to_five_heatmaps(heatmap: torch.Tensor, detach: bool) -> torch.Tensor:
    """Each heatmap divided by its maximum (at least 0.05), then summed within each landmark group."""
    peak = heatmap.amax(dim=(2, 3), keepdim=True).clamp_min(0.05)
    normalised = heatmap / peak
    count = heatmap.size(1)
    if count == 5:
        reduced = normalised
    elif count in _GROUPS:
        reduced = torch.stack([normalised[:, list(group)].sum(1) for group in _GROUPS[count]], dim=1)
    else:
        raise MgxError(f"DICNet: {count} face landmarks are not supported (5, 68 or 194); set hg_num_keypoints")
    return reduced.detach() if detach else reduced
