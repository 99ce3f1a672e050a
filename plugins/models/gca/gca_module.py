"""Guided contextual attention (Li & Lu, AAAI 2020) with MMagic 1.2.0's ``GCAModule`` arguments and keys.

Image features (``guidance_conv`` halves their channels, then they are downsampled by ``rate``) give the
attention: every 3×3 image patch, L2-normalised (norm floored at ``eps``), is correlated with every
position; the scores are scaled per image by √(unknown/known) for patches in the unknown region and
√(known/unknown) elsewhere (clamped to [0.1, 10]), each position's own patch gets ``penalty`` where it is
unknown, and a softmax over patches weights the ``2·rate``-sized alpha-feature patches, pasted back by a
transposed convolution (stride ``rate``) / 4. ``out_conv`` (1×1 + BN) of that is added to the alpha features.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..ops.conv_module import ConvModule


class GCAModule(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1, rate: int = 2,
                 pad_args: dict | None = None, interpolation: str = "nearest", penalty: float = -1e4,
                 eps: float = 1e-4) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.rate = kernel_size, stride, rate
        self.pad_args = dict(pad_args or dict(mode="reflect"))
        self.interpolation, self.penalty, self.eps = interpolation, penalty, eps
        self.guidance_conv = nn.Conv2d(in_channels, in_channels // 2, 1)
        self.out_conv = ConvModule(out_channels, out_channels, 1, norm_cfg=dict(type="BN"), act_cfg=None,
                                   who="GCAModule")
        nn.init.xavier_uniform_(self.guidance_conv.weight)
        nn.init.zeros_(self.guidance_conv.bias)
        nn.init.xavier_uniform_(self.out_conv.conv.weight)
        nn.init.constant_(self.out_conv.bn.weight, 1e-3)  # MMagic starts the attention branch almost closed
        nn.init.zeros_(self.out_conv.bn.bias)

    def pad(self, x: torch.Tensor, kernel_size: int, stride: int) -> torch.Tensor:
        left, right = (kernel_size - stride + 1) // 2, (kernel_size - stride) // 2
        return F.pad(x, (left, right, left, right), **self.pad_args)

    def patches(self, x: torch.Tensor, kernel_size: int, stride: int) -> torch.Tensor:
        """N×L×C×k×k patches (L positions, row-major) of the padded ``x``."""
        n, c = x.shape[:2]
        unfolded = F.unfold(self.pad(x, kernel_size, stride), (kernel_size, kernel_size), stride=(stride, stride))
        return unfolded.permute(0, 2, 1).reshape(n, -1, c, kernel_size, kernel_size)

    def scales(self, unknown: torch.Tensor | None, img_feat: torch.Tensor,
               softmax_scale: float) -> tuple[torch.Tensor, torch.Tensor]:
        """(unknown mask at the features' size, N×2 (unknown, known) scales)."""
        n, _, h, w = img_feat.shape
        if unknown is None:
            return img_feat.new_ones(n, 1, h, w), img_feat.new_full((n, 2), float(softmax_scale))
        unknown = F.interpolate(unknown.clone(), scale_factor=1 / self.rate, mode=self.interpolation)
        unknown_mean = unknown.mean(dim=[2, 3])
        known_mean = 1 - unknown_mean
        unknown_scale = torch.clamp(torch.sqrt(unknown_mean / known_mean), 0.1, 10).to(img_feat)
        known_scale = torch.clamp(torch.sqrt(known_mean / unknown_mean), 0.1, 10).to(img_feat)
        return unknown, torch.cat([unknown_scale, known_scale], dim=1)

    def forward(self, img_feat: torch.Tensor, alpha_feat: torch.Tensor, unknown: torch.Tensor | None = None,
                softmax_scale: float = 1.0) -> torch.Tensor:
        if alpha_feat.shape[2:4] != img_feat.shape[2:4]:
            raise ValueError(f"GCAModule: image features {tuple(img_feat.shape[2:4])} and alpha features "
                             f"{tuple(alpha_feat.shape[2:4])} differ in size")
        if unknown is not None and unknown.shape[2:4] != img_feat.shape[2:4]:
            raise ValueError(f"GCAModule: the unknown mask {tuple(unknown.shape[2:4])} and the image features "
                             f"{tuple(img_feat.shape[2:4])} differ in size")
        img_feat = F.interpolate(self.guidance_conv(img_feat), scale_factor=1 / self.rate, mode=self.interpolation)
        unknown, scales = self.scales(unknown, img_feat, softmax_scale)
        img_ps = self.patches(img_feat, self.kernel_size, self.stride)
        alpha_ps = self.patches(alpha_feat, self.rate * 2, self.rate)
        unknown_ps = self.patches(unknown, self.kernel_size, self.stride).squeeze(dim=2).mean(dim=[2, 3], keepdim=True)
        h, w = img_feat.shape[-2:]
        self_mask = F.one_hot(torch.arange(h * w, device=img_feat.device), h * w).T.reshape(1, h * w, h, w)
        self_mask = self_mask.to(img_feat) * self.penalty
        out = []
        for index in range(img_feat.shape[0]):
            patches = img_ps[index]
            norms = patches.pow(2).sum(dim=[1, 2, 3], keepdim=True).sqrt()
            normed = patches / torch.max(norms, torch.tensor(self.eps).to(img_feat))
            similarity = F.conv2d(self.pad(img_feat[index:index + 1], self.kernel_size, self.stride), normed)
            is_unknown = unknown_ps[index:index + 1]  # 1×L×1×1, the unknown fraction of each patch
            unknown_scale, known_scale = scales[index]
            score = similarity * (unknown_scale * is_unknown.gt(0.0).float() + known_scale * is_unknown.le(0.0).float())
            score = F.softmax(score + self_mask * is_unknown, dim=1)
            if self.rate == 1:
                out.append(F.conv2d(self.pad(score, 2, 1), alpha_ps[index].permute(1, 0, 2, 3)) / 4.0)
            else:
                out.append(F.conv_transpose2d(score, alpha_ps[index], stride=self.rate, padding=1) / 4.0)
        return self.out_conv(torch.cat(out, dim=0)) + alpha_feat


__all__ = ["GCAModule"]
