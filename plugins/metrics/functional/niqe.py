"""NIQE (Mittal et al. 2013, "Making a 'Completely Blind' Image Quality Analyzer"), as MMagic 1.2.0 and the
authors' MATLAB release compute it: 96×96 blocks without overlap, at full and half size (MATLAB's antialiased
bicubic ``imresize``), 18 AGGD features per block and scale, the distance of their multivariate Gaussian to
the pristine model. ``niqe_pris_params.npz`` holds the authors' pristine-model parameters (``mu_pris_param``
1×36, ``cov_pris_param`` 36×36, ``gaussian_window`` 7×7), as shipped with MMagic."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.ndimage import convolve
from scipy.special import gamma

BLOCK = 96
_SHAPES = np.arange(0.2, 10.001, 0.001)  # the AGGD shapes searched (MATLAB's grid)


@lru_cache(maxsize=1)
def pristine_params() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    params = np.load(Path(__file__).with_name("niqe_pris_params.npz"))
    return params["mu_pris_param"], params["cov_pris_param"], params["gaussian_window"]


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic kernel with a = -0.5 (MATLAB's 'bicubic')."""
    ax = np.abs(x)
    return ((1.5 * ax ** 3 - 2.5 * ax ** 2 + 1) * (ax <= 1)
            + (-0.5 * ax ** 3 + 2.5 * ax ** 2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2)))


def resize_matrix(length: int, scale: float) -> np.ndarray:
    """The ceil(length·scale)×length matrix of MATLAB's imresize along one axis (bicubic; antialiased below 1:
    the kernel is stretched by 1/scale), borders mirrored (symmetric, edge repeated)."""
    out_length = int(np.ceil(length * scale))
    stretch = min(scale, 1.0)
    width = 4.0 / stretch
    centres = np.arange(1, out_length + 1) / scale + 0.5 * (1 - 1 / scale)  # 1-based source positions
    taps = np.floor(centres - width / 2)[:, None] + np.arange(int(np.ceil(width)) + 2)[None, :]  # 1-based
    weights = stretch * cubic(stretch * (centres[:, None] - taps))
    weights /= weights.sum(axis=1, keepdims=True)
    mirrored = np.concatenate([np.arange(length), np.arange(length - 1, -1, -1)])
    sources = mirrored[np.mod(taps.astype(int) - 1, 2 * length)]
    matrix = np.zeros((out_length, length))
    for row in range(out_length):
        np.add.at(matrix[row], sources[row], weights[row])
    return matrix


def matlab_resize(image: np.ndarray, scale: float) -> np.ndarray:
    """H×W float image resized by ``scale`` as MATLAB's ``imresize(image, scale)`` (bicubic, antialiased)."""
    return resize_matrix(image.shape[0], scale) @ image @ resize_matrix(image.shape[1], scale).T


def aggd_params(values: np.ndarray) -> tuple[float, float, float]:
    """Shape alpha and left/right scales of the asymmetric generalised Gaussian fitted by moment matching."""
    values = values.ravel()
    left_std = np.sqrt(np.mean(values[values < 0] ** 2))
    right_std = np.sqrt(np.mean(values[values > 0] ** 2))
    gamma_hat = left_std / right_std
    r_hat = np.mean(np.abs(values)) ** 2 / np.mean(values ** 2)
    r_norm = r_hat * (gamma_hat ** 3 + 1) * (gamma_hat + 1) / (gamma_hat ** 2 + 1) ** 2
    ratios = gamma(2 / _SHAPES) ** 2 / (gamma(1 / _SHAPES) * gamma(3 / _SHAPES))
    alpha = _SHAPES[np.argmin((ratios - r_norm) ** 2)]
    factor = np.sqrt(gamma(1 / alpha) / gamma(3 / alpha))
    return float(alpha), float(left_std * factor), float(right_std * factor)


def block_features(block: np.ndarray) -> list[float]:
    """18 features: the block's AGGD (alpha, mean scale), then for the products with its right, lower,
    lower-right and lower-left neighbours: alpha, the AGGD mean, left and right scales."""
    alpha, left, right = aggd_params(block)
    features = [alpha, (left + right) / 2]
    for shift in ((0, 1), (1, 0), (1, 1), (1, -1)):
        alpha, left, right = aggd_params(block * np.roll(block, shift, axis=(0, 1)))
        mean = (right - left) * gamma(2 / alpha) / gamma(1 / alpha)
        features += [alpha, mean, left, right]
    return features


def niqe(gray: np.ndarray) -> float:
    """NIQE of an H×W image in [0, 255] (lower is more natural); needs two 96×96 blocks."""
    mu_pristine, cov_pristine, window = pristine_params()
    rows, cols = gray.shape[0] // BLOCK, gray.shape[1] // BLOCK
    if rows * cols < 2:  # the features' covariance needs two blocks
        raise ValueError(f"NIQE needs images holding two {BLOCK}×{BLOCK} blocks (e.g. {BLOCK}×{2 * BLOCK}) after "
                         f"crop_border, got {gray.shape[0]}×{gray.shape[1]}")
    image = gray[:rows * BLOCK, :cols * BLOCK].astype(np.float64)
    per_scale = []
    for scale in (1, 2):
        mu = convolve(image, window, mode="nearest")
        sigma = np.sqrt(np.abs(convolve(image ** 2, window, mode="nearest") - mu ** 2))
        normalised = (image - mu) / (sigma + 1)
        size = BLOCK // scale
        per_scale.append(np.array([block_features(normalised[r * size:(r + 1) * size, c * size:(c + 1) * size])
                                   for c in range(cols) for r in range(rows)]))
        if scale == 1:
            image = matlab_resize(image / 255.0, 0.5) * 255.0
    features = np.concatenate(per_scale, axis=1)
    mu_distorted = np.nanmean(features, axis=0)
    cov_distorted = np.cov(features[~np.isnan(features).any(axis=1)], rowvar=False)
    difference = mu_pristine - mu_distorted
    quality = difference @ np.linalg.pinv((cov_pristine + cov_distorted) / 2) @ difference.T
    return float(np.sqrt(np.squeeze(quality)))
