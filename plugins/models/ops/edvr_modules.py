"""EDVR's alignment and fusion (Wang et al. 2019) under MMagic's names and state-dict keys:
``ModulatedDCNPack``, ``PCDAlignment`` (pyramid, cascading, deformable), ``TSAFusion`` (temporal and
spatial attention), and ``EDVRFeatureExtractor`` (EDVR up to fusion). Shared by EDVRNet and IconVSR's
refill network; the deformable convolutions run through ``torchvision.ops.deform_conv2d``."""
from __future__ import annotations

import math

import torch
from torch import nn

from mgx.core.errors import ConfigError

from .deform_conv import deform_conv2d
from .sr_layers import ResidualBlockNoBN, leaky_conv, stack


class ModulatedDCNPack(nn.Module):
    """A modulated deformable conv whose offsets and mask come from another feature through ``conv_offset``
    (mmcv's ModulatedDeformConv2d keys ``weight``, ``bias``; the offset conv starts at zero)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 padding: int = 1, deform_groups: int = 1) -> None:
        super().__init__()
        self.stride, self.padding, self.deform_groups = stride, padding, deform_groups
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        nn.init.uniform_(self.weight, -1 / math.sqrt(in_channels * kernel_size ** 2),
                         1 / math.sqrt(in_channels * kernel_size ** 2))
        self.conv_offset = nn.Conv2d(in_channels, deform_groups * 3 * kernel_size ** 2, kernel_size, stride, padding)
        nn.init.zeros_(self.conv_offset.weight)
        nn.init.zeros_(self.conv_offset.bias)

    def forward(self, x: torch.Tensor, extra_feat: torch.Tensor) -> torch.Tensor:
        o1, o2, mask = torch.chunk(self.conv_offset(extra_feat), 3, dim=1)
        return deform_conv2d(x, torch.cat((o1, o2), dim=1), self.weight, self.bias, stride=self.stride,
                             padding=self.padding, mask=torch.sigmoid(mask))


class PCDAlignment(nn.Module):
    """Align a neighbour's 3-level feature pyramid to the reference's, coarse to fine, then a cascading DCN."""

    def __init__(self, mid_channels: int = 64, deform_groups: int = 8) -> None:
        super().__init__()
        self.offset_conv1, self.offset_conv2 = nn.ModuleDict(), nn.ModuleDict()
        self.offset_conv3, self.dcn_pack, self.feat_conv = nn.ModuleDict(), nn.ModuleDict(), nn.ModuleDict()
        for i in range(3, 0, -1):
            level = f"l{i}"
            self.offset_conv1[level] = leaky_conv(mid_channels * 2, mid_channels, 3, padding=1)
            if i == 3:
                self.offset_conv2[level] = leaky_conv(mid_channels, mid_channels, 3, padding=1)
            else:
                self.offset_conv2[level] = leaky_conv(mid_channels * 2, mid_channels, 3, padding=1)
                self.offset_conv3[level] = leaky_conv(mid_channels, mid_channels, 3, padding=1)
            self.dcn_pack[level] = ModulatedDCNPack(mid_channels, mid_channels, 3, padding=1,
                                                    deform_groups=deform_groups)
            if i < 3:
                conv = leaky_conv(mid_channels * 2, mid_channels, 3, padding=1)
                if i == 1:  # the finest level's fusion has no activation
                    conv.activate = None
                self.feat_conv[level] = conv
        self.cas_offset_conv1 = leaky_conv(mid_channels * 2, mid_channels, 3, padding=1)
        self.cas_offset_conv2 = leaky_conv(mid_channels, mid_channels, 3, padding=1)
        self.cas_dcnpack = ModulatedDCNPack(mid_channels, mid_channels, 3, padding=1, deform_groups=deform_groups)
        self.upsample = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)

    def forward(self, neighbor_feats: list[torch.Tensor], ref_feats: list[torch.Tensor]) -> torch.Tensor:
        upsampled_offset = upsampled_feat = None
        for i in range(3, 0, -1):
            level = f"l{i}"
            offset = self.offset_conv1[level](torch.cat([neighbor_feats[i - 1], ref_feats[i - 1]], dim=1))
            if i == 3:
                offset = self.offset_conv2[level](offset)
            else:
                offset = self.offset_conv3[level](self.offset_conv2[level](torch.cat([offset, upsampled_offset], 1)))
            feat = self.dcn_pack[level](neighbor_feats[i - 1], offset)
            feat = self.lrelu(feat) if i == 3 else self.feat_conv[level](torch.cat([feat, upsampled_feat], dim=1))
            if i > 1:  # offsets double with the resolution
                upsampled_offset, upsampled_feat = self.upsample(offset) * 2, self.upsample(feat)
        offset = self.cas_offset_conv2(self.cas_offset_conv1(torch.cat([feat, ref_feats[0]], dim=1)))
        return self.lrelu(self.cas_dcnpack(feat, offset))


class TSAFusion(nn.Module):
    """Temporal attention (sigmoid correlation with the centre frame's embedding) then spatial attention
    (a two-level pyramid of max/avg pools) over the aligned features of ``num_frames`` frames."""

    def __init__(self, mid_channels: int = 64, num_frames: int = 5, center_frame_idx: int = 2) -> None:
        super().__init__()
        self.center_frame_idx = center_frame_idx
        self.temporal_attn1 = nn.Conv2d(mid_channels, mid_channels, 3, padding=1)
        self.temporal_attn2 = nn.Conv2d(mid_channels, mid_channels, 3, padding=1)
        self.feat_fusion = leaky_conv(num_frames * mid_channels, mid_channels, 1)
        self.max_pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.avg_pool = nn.AvgPool2d(3, stride=2, padding=1)
        self.spatial_attn1 = leaky_conv(num_frames * mid_channels, mid_channels, 1)
        self.spatial_attn2 = leaky_conv(mid_channels * 2, mid_channels, 1)
        self.spatial_attn3 = leaky_conv(mid_channels, mid_channels, 3, padding=1)
        self.spatial_attn4 = leaky_conv(mid_channels, mid_channels, 1)
        self.spatial_attn5 = nn.Conv2d(mid_channels, mid_channels, 3, padding=1)
        self.spatial_attn_l1 = leaky_conv(mid_channels, mid_channels, 1)
        self.spatial_attn_l2 = leaky_conv(mid_channels * 2, mid_channels, 3, padding=1)
        self.spatial_attn_l3 = leaky_conv(mid_channels, mid_channels, 3, padding=1)
        self.spatial_attn_add1 = leaky_conv(mid_channels, mid_channels, 1)
        self.spatial_attn_add2 = nn.Conv2d(mid_channels, mid_channels, 1)
        self.upsample = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)

    def _pooled(self, attn: torch.Tensor, conv: nn.Module) -> torch.Tensor:
        return conv(torch.cat([self.max_pool(attn), self.avg_pool(attn)], dim=1))

    def forward(self, aligned_feat: torch.Tensor) -> torch.Tensor:
        n, t, c, h, w = aligned_feat.shape
        embedding_ref = self.temporal_attn1(aligned_feat[:, self.center_frame_idx])
        emb = self.temporal_attn2(aligned_feat.reshape(-1, c, h, w)).view(n, t, -1, h, w)
        corr_prob = torch.sigmoid((emb * embedding_ref.unsqueeze(1)).sum(2))  # n×t×h×w
        aligned_feat = aligned_feat.reshape(n, t, c, h, w) * corr_prob.unsqueeze(2)
        aligned_feat = aligned_feat.reshape(n, -1, h, w)
        feat = self.feat_fusion(aligned_feat)
        attn = self._pooled(self.spatial_attn1(aligned_feat), self.spatial_attn2)
        attn_level = self.spatial_attn_l1(attn)
        attn_level = self.upsample(self.spatial_attn_l3(self._pooled(attn_level, self.spatial_attn_l2)))
        attn = self.spatial_attn4(self.spatial_attn3(attn) + attn_level)
        attn = self.spatial_attn5(self.upsample(attn))
        attn_add = self.spatial_attn_add2(self.spatial_attn_add1(attn))
        return feat * torch.sigmoid(attn) * 2 + attn_add


class EDVRFeatureExtractor(nn.Module):
    """EDVR up to fusion (pyramid features, PCD alignment to the centre frame, TSA fusion or a 1×1 conv):
    N×T×C×H×W (H, W multiples of 4) -> the centre frame's N×mid×H×W feature. ``pretrained``: a path/URL."""

    def __init__(self, in_channels: int = 3, out_channel: int = 3, mid_channels: int = 64, num_frames: int = 5,
                 deform_groups: int = 8, num_blocks_extraction: int = 5, num_blocks_reconstruction: int = 10,
                 center_frame_idx: int = 2, with_tsa: bool = True, pretrained: str | None = None) -> None:
        super().__init__()
        self.center_frame_idx, self.with_tsa = center_frame_idx, with_tsa
        self.conv_first = nn.Conv2d(in_channels, mid_channels, 3, 1, 1)
        self.feature_extraction = stack(lambda: ResidualBlockNoBN(mid_channels), num_blocks_extraction)
        self.feat_l2_conv1 = leaky_conv(mid_channels, mid_channels, 3, 2, 1)
        self.feat_l2_conv2 = leaky_conv(mid_channels, mid_channels, 3, 1, 1)
        self.feat_l3_conv1 = leaky_conv(mid_channels, mid_channels, 3, 2, 1)
        self.feat_l3_conv2 = leaky_conv(mid_channels, mid_channels, 3, 1, 1)
        self.pcd_alignment = PCDAlignment(mid_channels=mid_channels, deform_groups=deform_groups)
        self.fusion = TSAFusion(mid_channels, num_frames, center_frame_idx) if with_tsa else \
            nn.Conv2d(num_frames * mid_channels, mid_channels, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)
        if pretrained is not None:
            if not isinstance(pretrained, str):
                raise ConfigError(f"EDVRFeatureExtractor: pretrained must be a path or URL, got {pretrained!r}")
            from ..base_models.pretrained import load_part_weights

            load_part_weights(self, pretrained, "IconVSRNet.edvr")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, c, h, w = x.shape
        l1 = self.feature_extraction(self.lrelu(self.conv_first(x.reshape(-1, c, h, w))))
        l2 = self.feat_l2_conv2(self.feat_l2_conv1(l1))
        l3 = self.feat_l3_conv2(self.feat_l3_conv1(l2))
        levels = [l1.view(n, t, -1, h, w), l2.view(n, t, -1, h // 2, w // 2), l3.view(n, t, -1, h // 4, w // 4)]
        ref_feats = [level[:, self.center_frame_idx] for level in levels]
        aligned = torch.stack([self.pcd_alignment([level[:, i] for level in levels], ref_feats) for i in range(t)], 1)
        return self.fusion(aligned) if self.with_tsa else self.fusion(aligned.view(n, -1, h, w))
