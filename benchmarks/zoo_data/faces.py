"""Stand-ins for DIC's downloaded parts in zoo trials: a landmark "detector" that
places the usual 68 points on a fixed face, and random LightCNN weights for ``LightCNNFeatureLoss``."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np
import torch


def template_face_landmarks(image: np.ndarray) -> np.ndarray:
    """A stand-in landmark detector (``GenerateFacialHeatmap(detector=...)``): the 68 points of the usual
    layout (jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, mouth 48-67) on a fixed face filling the image."""
    height, width = image.shape[:2]
    jaw = [(0.2 + 0.6 * i / 16, 0.55 + 0.35 * np.sin(np.pi * i / 16)) for i in range(17)]
    brows = [(0.25 + 0.5 * i / 9, 0.35) for i in range(10)]
    nose = [(0.5, 0.4 + 0.05 * i) for i in range(4)] + [(0.44 + 0.03 * i, 0.62) for i in range(5)]
    eyes = [(0.3 + 0.04 * i, 0.45) for i in range(6)] + [(0.58 + 0.04 * i, 0.45) for i in range(6)]
    mouth = [(0.38 + 0.24 * i / 19, 0.75 + 0.03 * np.sin(np.pi * i / 19)) for i in range(20)]
    points = np.array(jaw + brows + nose + eyes + mouth, dtype=np.float64)
    return points * np.array([width, height])


FACE_DETECTOR = "mgx.benchmarks.zoo_data.faces:template_face_landmarks"


def stand_in_face_detector(loaders: Iterable[tuple[str, dict]]) -> list[str]:
    """Every ``GenerateFacialHeatmap`` of the config finds its landmarks with ``template_face_landmarks``
    (face-alignment's networks are a download)."""
    return [f"{path}.dataset.pipeline.{index}.detector={FACE_DETECTOR}" for path, loader in loaders
            for index, step in enumerate((loader.get("dataset") or {}).get("pipeline") or [])
            if isinstance(step, dict) and step.get("type") == "GenerateFacialHeatmap"]


def stand_in_feature_losses(cfg: dict, folder: Path) -> list[str]:
    """``LightCNNFeatureLoss(pretrained=URL)``: random LightCNN features saved as its weights file."""
    model = cfg.get("model") or {}
    options = []
    for name, value in model.items():
        if isinstance(value, dict) and value.get("type") == "LightCNNFeatureLoss" and value.get("pretrained"):
            from mgx.plugins.models.losses.feature_loss import LightCNNFeature

            target = folder / "light_cnn_feature-random.pth"
            if not target.exists():
                folder.mkdir(parents=True, exist_ok=True)
                torch.save({"state_dict": LightCNNFeature().state_dict()}, target)
            options.append(f"model.{name}.pretrained={target}")
    return options


__all__ = ["FACE_DETECTOR", "stand_in_face_detector", "stand_in_feature_losses", "template_face_landmarks"]
