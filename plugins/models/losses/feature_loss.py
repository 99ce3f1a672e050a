"""MMagic's ``LightCNNFeatureLoss`` (DIC's face-identity loss): the distance between frozen LightCNN
features of the output and of the ground truth (the network of the ``dic`` family's discriminator)."""
from __future__ import annotations

import torch
from torch import nn

from mgx.core.errors import ConfigError

from ..base_models.pretrained import load_part_weights
from ..dic.light_cnn import light_cnn_features


class LightCNNFeature(nn.Module):
    """LightCNN's features, frozen (the network of ``LightCNNFeatureLoss``)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = light_cnn_features(3)
        self.features.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


class LightCNNFeatureLoss(nn.Module):
    """``criterion`` ('l1' or 'mse') between LightCNN features of ``pred`` and of ``gt`` (no gradient
    through the latter), × ``loss_weight``. ``pretrained``: a path or URL of the features' weights
    (keys ``features.*``); None keeps them random (MMagic warns: the loss is then not meaningful)."""

    def __init__(self, pretrained: str | None, loss_weight: float = 1.0, criterion: str = "l1") -> None:
        super().__init__()
        if str(criterion) not in ("l1", "mse"):
            raise ConfigError(f"LightCNNFeatureLoss: criterion must be 'l1' or 'mse', got {criterion!r}")
        self.model = LightCNNFeature()
        if pretrained is not None:
            if not isinstance(pretrained, str):
                raise ConfigError(f"LightCNNFeatureLoss: pretrained must be a path or URL, got {pretrained!r}")
            load_part_weights(self.model, pretrained, "LightCNNFeatureLoss.pretrained")
        self.model.eval()
        self.loss_weight = loss_weight
        self.criterion = nn.L1Loss() if criterion == "l1" else nn.MSELoss()

    def train(self, mode: bool = True) -> "LightCNNFeatureLoss":
        super().train(mode)
        self.model.eval()  # (MMagic evaluates the feature network in eval mode, always)
        return self

    def forward(self, pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        return self.criterion(self.model(pred), self.model(gt).detach()) * self.loss_weight
