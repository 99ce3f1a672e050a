"""The four matting errors of Rhemann et al. 2009 (alphamatting.com) as MMagic 1.2.0 computes them, on one
image: ``pred`` and ``gt`` alphas in [0, 1] (float64 H×W), ``trimap`` H×W with 0 / 128 / 255.

- SAD: Σ |pred − gt| over the whole image / ``norm``;
- MSE: Σ (pred − gt)² over the whole image / (number of unknown pixels); 0 when there are none;
- gradient: both alphas min-max normalised, filtered with the first derivative of a Gaussian (σ) along x
  and y (kernel of MMagic's size and L2 norm 1, edges replicated), Σ over unknown pixels of the squared
  difference of the gradient magnitudes / ``norm``;
- connectivity: for thresholds t = step, 2·step, …, 1 the largest 4-connected component of
  (gt ≥ t) ∧ (pred ≥ t); a pixel's level l is the last threshold before it leaves that component (1 if it
  never does); φ = 1 − d·[d ≥ 0.15] with d = alpha − l; Σ over unknown pixels of |φ_gt − φ_pred|
  / ``norm``.

The prediction is taken as already masked by the trimap (known pixels 0 or 1), as the models return it.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

UNKNOWN = 128


def sad(pred: np.ndarray, gt: np.ndarray, norm: float = 1000) -> float:
    return float(np.abs(pred - gt).sum() / norm)


def matting_mse(pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray) -> float:
    unknown = int((trimap == UNKNOWN).sum())
    return float(((pred - gt) ** 2).sum() / unknown) if unknown else 0.0


def gaussian_derivative_kernels(sigma: float, epsilon: float = 1e-2) -> tuple[np.ndarray, np.ndarray]:
    """(d/dx, d/dy) kernels: g(y)·g'(x) on a square of half size ⌈σ·√(−2 ln(√(2π)·σ·ε))⌉,
    L2-normalised."""
    half = np.ceil(sigma * np.sqrt(-2 * np.log(np.sqrt(2 * np.pi) * sigma * epsilon)))
    offsets = np.arange(-half, half + 1)
    gauss = np.exp(-offsets ** 2 / (2 * sigma ** 2)) / (sigma * np.sqrt(2 * np.pi))
    derivative = -offsets * gauss / sigma ** 2
    kernel_x = np.outer(gauss, derivative)
    kernel_x /= np.sqrt((kernel_x ** 2).sum())
    return kernel_x, kernel_x.T


def min_max_normalised(alpha: np.ndarray) -> np.ndarray:
    """alpha scaled to [0, 1]; a constant alpha becomes 0 (OpenCV's NORM_MINMAX)."""
    low, high = alpha.min(), alpha.max()
    scale = 1.0 / (high - low) if high - low > np.finfo(np.float64).eps else 0.0
    return (alpha - low) * scale


def gradient_magnitude(alpha: np.ndarray, sigma: float) -> np.ndarray:
    kernel_x, kernel_y = gaussian_derivative_kernels(sigma)
    along_x = ndimage.correlate(alpha, kernel_x, mode="nearest")
    along_y = ndimage.correlate(alpha, kernel_y, mode="nearest")
    return np.sqrt(along_x ** 2 + along_y ** 2)


def gradient_error(pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray, sigma: float = 1.4,
                   norm: float = 1000) -> float:
    difference = gradient_magnitude(min_max_normalised(gt), sigma) - gradient_magnitude(min_max_normalised(pred), sigma)
    return float((difference ** 2 * (trimap == UNKNOWN)).sum() / norm)


FOUR_CONNECTED = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]])


def largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 4-connected component of ``mask`` (the first in raster order among equals)."""
    labels, count = ndimage.label(mask, structure=FOUR_CONNECTED)
    if count == 0:
        return np.zeros(mask.shape, dtype=bool)
    sizes = np.bincount(labels.ravel())[1:]
    return labels == int(np.argmax(sizes)) + 1


def connectivity_error(pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray, step: float = 0.1,
                       norm: float = 1000) -> float:
    thresholds = np.arange(0, 1 + step, step)
    level = -np.ones_like(gt)
    for index in range(1, len(thresholds)):
        connected = largest_component((gt >= thresholds[index]) & (pred >= thresholds[index]))
        leaving = (level == -1) & ~connected
        level[leaving] = thresholds[index - 1]
    level[level == -1] = 1
    gt_diff, pred_diff = gt - level, pred - level
    gt_phi = 1 - gt_diff * (gt_diff >= 0.15)
    pred_phi = 1 - pred_diff * (pred_diff >= 0.15)
    return float((np.abs(gt_phi - pred_phi) * (trimap == UNKNOWN)).sum() / norm)


__all__ = ["connectivity_error", "gaussian_derivative_kernels", "gradient_error", "matting_mse", "sad"]
