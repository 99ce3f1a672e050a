"""NAFNet and NAFNetLocal (Chen et al., ECCV 2022) under MMagic 1.2.0's names, arguments and state-dict keys.

A U-Net of NAF blocks ("nonlinear activation free"): layer norm, 1×1 conv, 3×3 depth-wise conv, SimpleGate
(the product of the two channel halves, in place of an activation), simplified channel attention (the
gated features times a 1×1 conv of their average), 1×1 conv, a learnt residual scale ``beta``; then a gated
feed-forward with residual scale ``gamma``. Levels go down by a stride-2 2×2 conv and up by 1×1 conv +
pixel shuffle; inputs are zero-padded to a multiple of 2^levels and the output is cropped back.

``NAFNetLocal`` replaces the channel attention's global average with a local one (TLC, Chu et al. 2022):
at inference the average is over a window of 1.5× the training size (scaled to each level), so larger
test images see the statistics the network was trained with. MMagic finds the window sizes by a dummy
forward at ``train_size``; here they are computed from the same rule at construction.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError

from ..ops.channel_attention import channel_layer_norm

NAF_NORM_EPS = 1e-6
FAST_REDUCTIONS = (5, 4, 3, 2, 1)  # sub-sampling strides fast_imp tries, largest first


class LayerNorm2d(nn.Module):
    """NAFNet's per-pixel layer norm over channels (centred, with bias; ε = 1e-6)."""

    def __init__(self, channels: int, eps: float = NAF_NORM_EPS) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return channel_layer_norm(x, self.weight, self.bias, self.eps)


class SimpleGate(nn.Module):
    """x[:, :C/2] · x[:, C/2:]."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first, second = x.chunk(2, dim=1)
        return first * second


class NAFBlock(nn.Module):
    """See the module docstring; argument names are MMagic's."""

    def __init__(self, in_channels: int, DW_Expand: int = 2, FFN_Expand: int = 2,  # noqa: N803
                 drop_out_rate: float = 0.0) -> None:
        super().__init__()
        dw_channels, ffn_channels = in_channels * DW_Expand, in_channels * FFN_Expand
        self.conv1 = nn.Conv2d(in_channels, dw_channels, 1)
        self.conv2 = nn.Conv2d(dw_channels, dw_channels, 3, padding=1, groups=dw_channels)
        self.conv3 = nn.Conv2d(dw_channels // 2, in_channels, 1)
        self.sca = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(dw_channels // 2, dw_channels // 2, 1))
        self.conv4 = nn.Conv2d(in_channels, ffn_channels, 1)
        self.conv5 = nn.Conv2d(ffn_channels // 2, in_channels, 1)
        self.sg = SimpleGate()
        self.norm1 = LayerNorm2d(in_channels)
        self.norm2 = LayerNorm2d(in_channels)
        self.dropout1 = nn.Dropout(drop_out_rate) if drop_out_rate > 0 else nn.Identity()
        self.dropout2 = nn.Dropout(drop_out_rate) if drop_out_rate > 0 else nn.Identity()
        self.beta = nn.Parameter(torch.zeros(1, in_channels, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, in_channels, 1, 1))

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        x = self.sg(self.conv2(self.conv1(self.norm1(inp))))
        x = self.dropout1(self.conv3(x * self.sca(x)))
        y = inp + x * self.beta
        x = self.dropout2(self.conv5(self.sg(self.conv4(self.norm2(y)))))
        return y + x * self.gamma


def _blocks(count: int, channels: int) -> nn.Sequential:
    return nn.Sequential(*(NAFBlock(channels) for _ in range(count)))


class NAFNet(nn.Module):
    """NAFNet (see the module docstring); arguments as MMagic 1.2.0's."""

    def __init__(self, img_channels: int = 3, mid_channels: int = 16, middle_blk_num: int = 1,
                 enc_blk_nums: Sequence[int] = (), dec_blk_nums: Sequence[int] = ()) -> None:
        super().__init__()
        enc_blk_nums, dec_blk_nums = list(enc_blk_nums), list(dec_blk_nums)
        if len(enc_blk_nums) != len(dec_blk_nums):
            raise ConfigError(f"{type(self).__name__}: enc_blk_nums and dec_blk_nums need one entry per level "
                              f"each, got {enc_blk_nums} and {dec_blk_nums}")
        self.intro = nn.Conv2d(img_channels, mid_channels, 3, padding=1)
        self.ending = nn.Conv2d(mid_channels, img_channels, 3, padding=1)
        self.encoders, self.decoders, self.ups, self.downs = (nn.ModuleList() for _ in range(4))
        channels = mid_channels
        for count in enc_blk_nums:
            self.encoders.append(_blocks(count, channels))
            self.downs.append(nn.Conv2d(channels, 2 * channels, 2, 2))
            channels *= 2
        self.middle_blks = _blocks(middle_blk_num, channels)
        for count in dec_blk_nums:
            self.ups.append(nn.Sequential(nn.Conv2d(channels, channels * 2, 1, bias=False), nn.PixelShuffle(2)))
            channels //= 2
            self.decoders.append(_blocks(count, channels))
        self.padder_size = 2 ** len(self.encoders)

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        height, width = inp.shape[-2:]
        inp = F.pad(inp, (0, (-width) % self.padder_size, 0, (-height) % self.padder_size))
        x = self.intro(inp)
        skips = []
        for encoder, down in zip(self.encoders, self.downs):
            x = encoder(x)
            skips.append(x)
            x = down(x)
        x = self.middle_blks(x)
        for decoder, up, skip in zip(self.decoders, self.ups, reversed(skips)):
            x = decoder(up(x) + skip)
        return (self.ending(x) + inp)[..., :height, :width]


class NAFAvgPool2d(nn.Module):
    """Local average over a ``kernel_size`` window (stride 1), replicate-padded back to the input size
    (``auto_pad``); a window covering the whole input is the global average. ``fast_imp``: MMagic's
    faster, non-equivalent variant on a sub-sampled grid (``max_reduction`` caps the sub-sampling)."""

    def __init__(self, kernel_size: Sequence[int], auto_pad: bool = True, fast_imp: bool = False,
                 max_reduction: Sequence[int] = (FAST_REDUCTIONS[0],) * 2) -> None:
        super().__init__()
        self.kernel_size, self.auto_pad, self.fast_imp = tuple(kernel_size), auto_pad, fast_imp
        self.max_reduction = tuple(max_reduction)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, fast_imp={self.fast_imp}"

    def _fast(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        r1 = min(self.max_reduction[0], next(r for r in FAST_REDUCTIONS if h % r == 0))
        r2 = min(self.max_reduction[1], next(r for r in FAST_REDUCTIONS if w % r == 0))
        sums = x[:, :, ::r1, ::r2].cumsum(dim=-1).cumsum(dim=-2)
        k1 = min(sums.shape[-2] - 1, self.kernel_size[0] // r1)
        k2 = min(sums.shape[-1] - 1, self.kernel_size[1] // r2)
        box = sums[..., :-k1, :-k2] - sums[..., :-k1, k2:] - sums[..., k1:, :-k2] + sums[..., k1:, k2:]
        return F.interpolate(box / (k1 * k2), scale_factor=(r1, r2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if self.kernel_size[0] >= h and self.kernel_size[1] >= w:
            return F.adaptive_avg_pool2d(x, 1)
        if self.fast_imp:
            out = self._fast(x)
        else:
            out = F.avg_pool2d(x, (min(h, self.kernel_size[0]), min(w, self.kernel_size[1])), stride=1)
        if self.auto_pad:
            dh, dw = h - out.shape[-2], w - out.shape[-1]
            out = F.pad(out, (dw // 2, (dw + 1) // 2, dh // 2, (dh + 1) // 2), mode="replicate")
        return out


class NAFNetLocal(NAFNet):
    """NAFNet whose channel attention averages locally (see the module docstring). ``train_size``
    (N, C, H, W): the training crop; the window is 1.5·(H, W) at full resolution."""

    def __init__(self, *args, train_size: Sequence[int] = (1, 3, 256, 256), fast_imp: bool = False,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if len(train_size) != 4:
            raise ConfigError(f"NAFNetLocal: train_size must be (N, C, H, W), got {train_size!r}")
        height, width = int(train_size[2]), int(train_size[3])
        window = (int(height * 1.5), int(width * 1.5))
        padded = (height + (-height) % self.padder_size, width + (-width) % self.padder_size)
        levels = [(self.encoders, range(len(self.encoders))), (self.middle_blks, None),
                  (self.decoders, reversed(range(len(self.decoders))))]
        for container, level_of in levels:
            groups = [container] if level_of is None else list(container)
            depths = [len(self.encoders)] if level_of is None else list(level_of)
            for group, depth in zip(groups, depths):
                size = (padded[0] >> depth, padded[1] >> depth)  # the feature size at this level in training
                kernel = (size[0] * window[0] // height, size[1] * window[1] // width)
                reduction = (max(1, FAST_REDUCTIONS[0] * size[0] // height),
                             max(1, FAST_REDUCTIONS[0] * size[1] // width))
                for block in group.modules():
                    if isinstance(block, NAFBlock):
                        block.sca[0] = NAFAvgPool2d(kernel, fast_imp=fast_imp, max_reduction=reduction)
        self.eval()  # as MMagic leaves it after its conversion pass
