"""LightCNN (MMagic's names, arguments and state-dict keys): the ``LightCNN`` discriminator of DIC-GAN
(128×128 faces) and the feature layers ``LightCNNFeatureLoss`` (``losses/feature_loss.py``) compares."""
from __future__ import annotations

import torch
from torch import nn

from mgx.core.errors import ConfigError



class MaxFeature(nn.Module):
    """A conv (or linear) layer to twice ``out_channels``, then the element-wise max of its two halves."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1, padding: int = 1,
                 filter_type: str = "conv2d") -> None:
        super().__init__()
        self.out_channels = out_channels
        kind = str(filter_type).lower()
        if kind == "conv2d":
            self.filter = nn.Conv2d(in_channels, 2 * out_channels, kernel_size=kernel_size, stride=stride,
                                    padding=padding)
        elif kind == "linear":
            self.filter = nn.Linear(in_channels, 2 * out_channels)
        else:
            raise ConfigError(f"MaxFeature: filter_type must be 'conv2d' or 'linear', got {filter_type!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first, second = torch.chunk(self.filter(x), chunks=2, dim=1)
        return torch.max(first, second)


def _pool() -> nn.MaxPool2d:
    return nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=True)


def light_cnn_features(in_channels: int) -> nn.Sequential:
    """LightCNN's convolutional part: 128×128 -> 128×8×8."""
    return nn.Sequential(
        MaxFeature(in_channels, 48, 5, 1, 2), _pool(),
        MaxFeature(48, 48, 1, 1, 0), MaxFeature(48, 96, 3, 1, 1), _pool(),
        MaxFeature(96, 96, 1, 1, 0), MaxFeature(96, 192, 3, 1, 1), _pool(),
        MaxFeature(192, 192, 1, 1, 0), MaxFeature(192, 128, 3, 1, 1),
        MaxFeature(128, 128, 1, 1, 0), MaxFeature(128, 128, 3, 1, 1), _pool())


class LightCNN(nn.Module):
    """Discriminator for 128×128 inputs (its classifier reads the 8×8×128 feature map)."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.features = light_cnn_features(in_channels)
        self.classifier = nn.Sequential(MaxFeature(8 * 8 * 128, 256, filter_type="linear"),
                                        nn.LeakyReLU(0.2, True), nn.Linear(256, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != (128, 128):
            raise ConfigError(f"LightCNN takes 128×128 images, got {tuple(x.shape[-2:])}")
        return self.classifier(self.features(x).flatten(1))
