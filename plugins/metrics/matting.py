"""Matting metrics with MMagic 1.2.0's names and arguments: ``SAD``, ``MattingMSE``, ``GradientError``,
``ConnectivityError`` (definitions in ``functional/matting.py``; docs/metrics.md, "Matting").

Each reads the model's ``pred_alpha`` (N×1×H×W in [0, 255], masked by the trimap) and the sample's original
alpha and trimap: ``ori_alpha`` / ``ori_trimap`` (``LoadImageFromFile(..., save_original_img=True)``, as
MMagic's test pipelines load them), else ``gt_alpha`` / ``trimap``. Alphas are divided by 255 in float64;
the value is the mean over images.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from mgx.core.errors import ConfigError, MgxError
from mgx.core.evaluation import BaseMetric

from .functional.matting import connectivity_error, gradient_error, matting_mse, sad


def _positive(value: Any, name: str, who: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{who}: {name} must be a positive number, got {value!r}")
    return float(value)


def _planes(value: Any, key: str, who: str) -> np.ndarray:
    """N×1×H×W (or N×H×W) tensor -> float64 N×H×W array."""
    if not isinstance(value, torch.Tensor) or value.dim() not in (3, 4) or (value.dim() == 4 and value.shape[1] != 1):
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise MgxError(f"{who}: {key} must be one-channel N×1×H×W, got {shape}")
    planes = value.detach().to("cpu", torch.float64)
    return (planes[:, 0] if planes.dim() == 4 else planes).numpy()


class MattingMetric(BaseMetric):
    """Base: the mean over images of ``value(pred, gt, trimap)`` (alphas in [0, 1], trimap 0/128/255)."""

    uses_val_step = True
    result_key = ""

    def __init__(self, prefix: str | None = None, collect_device: str = "cpu", device: str = "cpu") -> None:
        super().__init__(prefix)  # collect_device / device: MMagic's, states sync on the run's device here

    def result_keys(self) -> list[str]:
        return [self.result_key]

    def setup(self, ctx) -> None:
        self.add_sum_state("_sum", (2,))  # [Σ values, images]

    def value(self, pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray) -> float:
        raise NotImplementedError

    def _fetch(self, batch: dict, outputs: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        who = type(self).__name__
        if "pred_alpha" not in outputs:
            raise ConfigError(f"{who}: val_step outputs have no 'pred_alpha' (keys: {sorted(outputs)}); it scores "
                              "matting models (DIM, GCA, IndexNet)")
        gt_key = next((k for k in ("ori_alpha", "gt_alpha") if k in batch), None)
        trimap_key = next((k for k in ("ori_trimap", "trimap") if k in batch), None)
        if gt_key is None or trimap_key is None:
            raise ConfigError(f"{who}: batches need the alpha and trimap (ori_alpha/gt_alpha, ori_trimap/trimap); "
                              f"they have {sorted(batch)}: load both with LoadImageFromFile(key='alpha'/'trimap', "
                              "color_type='grayscale', save_original_img=True)")
        pred, gt = _planes(outputs["pred_alpha"], "pred_alpha", who), _planes(batch[gt_key], gt_key, who)
        trimap = _planes(batch[trimap_key], trimap_key, who)
        if not pred.shape == gt.shape == trimap.shape:
            raise MgxError(f"{who}: pred_alpha {pred.shape}, {gt_key} {gt.shape} and {trimap_key} {trimap.shape} "
                           "differ in size")
        return pred / 255.0, gt / 255.0, trimap

    def process(self, batch: dict, outputs: dict) -> None:
        pred, gt, trimap = self._fetch(batch, outputs)
        values = [self.value(p, g, t) for p, g, t in zip(pred, gt, trimap)]
        self._sum += torch.tensor([sum(values), float(len(values))], dtype=torch.float64)

    def compute(self) -> dict[str, float]:
        total = self._sum
        if total is None or total[1] == 0:
            return {self.result_key: float("nan")}
        return {self.result_key: float(total[0] / total[1])}


class SAD(MattingMetric):
    """Sum of absolute differences / ``norm_const`` (MMagic: 1000)."""

    result_key = "SAD"
    directions = {"SAD": "lower"}

    def __init__(self, norm_const: float = 1000, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.norm_const = _positive(norm_const, "norm_const", "SAD")

    def value(self, pred, gt, trimap):
        return sad(pred, gt, self.norm_const)


class MattingMSE(MattingMetric):
    """Σ squared error / (unknown pixels) / ``norm_const`` — MMagic 1.2.0 stores ``norm_const`` but does not
    divide by it, and neither does this (its published numbers are without it)."""

    result_key = "MattingMSE"
    directions = {"MattingMSE": "lower"}

    def __init__(self, norm_const: float = 1000, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.norm_const = _positive(norm_const, "norm_const", "MattingMSE")

    def value(self, pred, gt, trimap):
        return matting_mse(pred, gt, trimap)


class GradientError(MattingMetric):
    """Gaussian-gradient error in the unknown region / ``norm_constant``."""

    result_key = "GradientError"
    directions = {"GradientError": "lower"}

    def __init__(self, sigma: float = 1.4, norm_constant: float = 1000, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sigma = _positive(sigma, "sigma", "GradientError")
        self.norm_constant = _positive(norm_constant, "norm_constant", "GradientError")

    def value(self, pred, gt, trimap):
        return gradient_error(pred, gt, trimap, self.sigma, self.norm_constant)


class ConnectivityError(MattingMetric):
    """Connectivity error in the unknown region (thresholds every ``step``) / ``norm_constant``."""

    result_key = "ConnectivityError"
    directions = {"ConnectivityError": "lower"}

    def __init__(self, step: float = 0.1, norm_constant: float = 1000, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.step = _positive(step, "step", "ConnectivityError")
        self.norm_constant = _positive(norm_constant, "norm_constant", "ConnectivityError")

    def value(self, pred, gt, trimap):
        return connectivity_error(pred, gt, trimap, self.step, self.norm_constant)


__all__ = ["ConnectivityError", "GradientError", "MattingMSE", "SAD"]
