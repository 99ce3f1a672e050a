"""``TDANNet`` (Tian et al. 2020) under MMagic's name, arguments and state-dict keys."""
from __future__ import annotations

import torch
from torch import nn

from ..ops.deform_conv import AugmentedDeformConv2dPack, DeformConv2dPack
from ..ops.sr_layers import ConvModule, PixelShufflePack, ResidualBlockNoBN, stack


class TDANNet(nn.Module):
    """Temporally deformable alignment of every frame of a window to its centre frame, then ×4
    reconstruction of the centre frame from the aligned frames (MMagic: ×4 only, 5 frames).

    ``forward(lrs)``: N×T×C×h×w -> (N×out_channels×4h×4w, the aligned frames N×T×C×h×w). The centre
    frame passes through unchanged; the others are aligned in feature space and mapped back to RGB.
    """

    def __init__(self, in_channels: int = 3, mid_channels: int = 64, out_channels: int = 3,
                 num_blocks_before_align: int = 5, num_blocks_after_align: int = 10) -> None:
        super().__init__()
        self.feat_extract = nn.Sequential(ConvModule(in_channels, mid_channels, 3, padding=1, activation=nn.ReLU()),
                                          stack(lambda: ResidualBlockNoBN(mid_channels), num_blocks_before_align))
        self.feat_aggregate = nn.Sequential(
            nn.Conv2d(mid_channels * 2, mid_channels, 3, padding=1, bias=True),
            DeformConv2dPack(mid_channels, mid_channels, 3, padding=1, deform_groups=8),
            DeformConv2dPack(mid_channels, mid_channels, 3, padding=1, deform_groups=8))
        self.align_1 = AugmentedDeformConv2dPack(mid_channels, mid_channels, 3, padding=1, deform_groups=8)
        self.align_2 = DeformConv2dPack(mid_channels, mid_channels, 3, padding=1, deform_groups=8)
        self.to_rgb = nn.Conv2d(mid_channels, 3, 3, padding=1, bias=True)
        # MMagic's reconstruction reads in_channels · 5 channels: the 5 aligned frames
        self.reconstruct = nn.Sequential(
            ConvModule(in_channels * 5, mid_channels, 3, padding=1, activation=nn.ReLU()),
            stack(lambda: ResidualBlockNoBN(mid_channels), num_blocks_after_align),
            PixelShufflePack(mid_channels, mid_channels, 2, upsample_kernel=3),
            PixelShufflePack(mid_channels, mid_channels, 2, upsample_kernel=3),
            nn.Conv2d(mid_channels, out_channels, 3, 1, 1, bias=False))

    def align(self, feat_center: torch.Tensor, feat_neighbor: torch.Tensor) -> torch.Tensor:
        """The neighbour's feature deformed towards the centre's, as RGB."""
        offsets_feat = self.feat_aggregate(torch.cat([feat_center, feat_neighbor], dim=1))
        return self.to_rgb(self.align_2(self.align_1(feat_neighbor, offsets_feat)))

    def forward(self, lrs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, t, c, h, w = lrs.shape
        if t * c != self.reconstruct[0].conv.in_channels:
            raise ValueError(f"TDANNet: reconstruction reads {self.reconstruct[0].conv.in_channels} channels "
                             f"(5 frames of in_channels), but the input is {t} frames of {c} channels")
        centre = t // 2
        feats = self.feat_extract(lrs.reshape(-1, c, h, w)).view(n, t, -1, h, w)
        feat_center = feats[:, centre].contiguous()
        aligned = [lrs[:, i] if i == centre else self.align(feat_center, feats[:, i].contiguous()) for i in range(t)]
        aligned_lrs = torch.cat(aligned, dim=1)
        return self.reconstruct(aligned_lrs), aligned_lrs.view(n, t, c, h, w)
