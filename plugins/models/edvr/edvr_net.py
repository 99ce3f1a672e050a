"""``EDVRNet`` (Wang et al. 2019) under MMagic's name, arguments and state-dict keys."""
from __future__ import annotations

import torch
from torch import nn

from ..ops.edvr_modules import EDVRFeatureExtractor
from ..ops.sr_layers import PixelShufflePack, ResidualBlockNoBN, stack


class EDVRNet(EDVRFeatureExtractor):
    """EDVR: the aligned, fused feature of ``num_frames`` frames around ``center_frame_idx`` (H and W multiples
    of 4), ``num_blocks_reconstruction`` residual blocks, ×4 pixel-shuffle upsampling, plus the bilinearly
    upsampled centre frame: N×T×C×h×w -> N×out_channels×4h×4w."""

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int = 64, num_frames: int = 5,
                 deform_groups: int = 8, num_blocks_extraction: int = 5, num_blocks_reconstruction: int = 10,
                 center_frame_idx: int = 2, with_tsa: bool = True) -> None:
        super().__init__(in_channels, out_channels, mid_channels, num_frames, deform_groups, num_blocks_extraction,
                         num_blocks_reconstruction, center_frame_idx, with_tsa)
        self.reconstruction = stack(lambda: ResidualBlockNoBN(mid_channels), num_blocks_reconstruction)
        self.upsample1 = PixelShufflePack(mid_channels, mid_channels, 2, upsample_kernel=3)
        self.upsample2 = PixelShufflePack(mid_channels, 64, 2, upsample_kernel=3)
        self.conv_hr = nn.Conv2d(64, 64, 3, 1, 1)
        self.conv_last = nn.Conv2d(64, out_channels, 3, 1, 1)
        self.img_upsample = nn.Upsample(scale_factor=4, mode="bilinear", align_corners=False)
        if with_tsa:  # MMagic's init of the TSA convs when no pretrained weights are loaded
            for name in ("feat_fusion", "spatial_attn1", "spatial_attn2", "spatial_attn3", "spatial_attn4",
                         "spatial_attn_l1", "spatial_attn_l2", "spatial_attn_l3", "spatial_attn_add1"):
                conv = getattr(self.fusion, name).conv
                nn.init.kaiming_uniform_(conv.weight, a=0.1, mode="fan_out", nonlinearity="leaky_relu")
                nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if h % 4 or w % 4:
            raise ValueError(f"EDVRNet: the height and width of inputs must be multiples of 4, got {h}×{w}")
        out = self.reconstruction(super().forward(x))
        out = self.lrelu(self.upsample1(out))
        out = self.lrelu(self.upsample2(out))
        out = self.conv_last(self.lrelu(self.conv_hr(out)))
        return out + self.img_upsample(x[:, self.center_frame_idx])
