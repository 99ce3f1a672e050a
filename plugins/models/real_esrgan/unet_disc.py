"""``UNetDiscriminatorWithSpectralNorm`` (Real-ESRGAN's discriminator) under MMagic 1.2.0's name, arguments
and state-dict keys: a per-pixel real/fake map from a U-Net of spectrally normalised convolutions.

Three stride-2 4×4 convolutions go down (×2, ×4, ×8 channels), three bilinear ×2 up-samplings each
followed by a 3×3 convolution come back (with additive skips when ``skip_connection``), then two 3×3
convolutions and a 1-channel 3×3 output. Spectral norm is torch's (``weight_orig``/``weight_u``/``weight_v``
keys, one power iteration per training forward), the same parametrisation MMagic uses.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import spectral_norm


def _normed(in_channels: int, out_channels: int, kernel: int, stride: int) -> nn.Module:
    padding = 1
    return spectral_norm(nn.Conv2d(in_channels, out_channels, kernel, stride, padding, bias=False))


class UNetDiscriminatorWithSpectralNorm(nn.Module):
    """See the module docstring."""

    def __init__(self, in_channels: int, mid_channels: int = 64, skip_connection: bool = True) -> None:
        super().__init__()
        c = mid_channels
        self.skip_connection = bool(skip_connection)
        self.conv_0 = nn.Conv2d(in_channels, c, kernel_size=3, stride=1, padding=1)
        self.conv_1 = _normed(c, c * 2, 4, 2)
        self.conv_2 = _normed(c * 2, c * 4, 4, 2)
        self.conv_3 = _normed(c * 4, c * 8, 4, 2)
        self.conv_4 = _normed(c * 8, c * 4, 3, 1)
        self.conv_5 = _normed(c * 4, c * 2, 3, 1)
        self.conv_6 = _normed(c * 2, c, 3, 1)
        self.conv_7 = _normed(c, c, 3, 1)
        self.conv_8 = _normed(c, c, 3, 1)
        self.conv_9 = nn.Conv2d(c, 1, 3, 1, 1)

    @staticmethod
    def _act(x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(x, 0.2)

    def _up(self, conv: nn.Module, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self._act(conv(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)))
        return x + skip if self.skip_connection else x

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        feat_0 = self._act(self.conv_0(img))
        feat_1 = self._act(self.conv_1(feat_0))
        feat_2 = self._act(self.conv_2(feat_1))
        feat_3 = self._act(self.conv_3(feat_2))
        x = self._up(self.conv_4, feat_3, feat_2)
        x = self._up(self.conv_5, x, feat_1)
        x = self._up(self.conv_6, x, feat_0)
        return self.conv_9(self._act(self.conv_8(self._act(self.conv_7(x)))))
