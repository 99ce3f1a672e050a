"""NIQE: its parts against their definitions (AGGD moment fit on known distributions, MATLAB's bicubic resize
on ramps), the pristine model MMagic ships, and the metric's behaviour (noise raises it)."""
import math

import numpy as np
import pytest
import torch

from mgx.core.errors import ConfigError
from mgx.plugins.metrics.functional.niqe import aggd_params, cubic, matlab_resize, niqe, pristine_params, resize_matrix
from mgx.plugins.metrics.niqe import NIQE


def test_aggd_fit_recovers_gaussian_and_laplacian_shapes():
    rng = np.random.default_rng(0)
    alpha, left, right = aggd_params(rng.normal(0, 2.0, 200_000))
    # Gaussian: alpha 2, scale = std·sqrt(Γ(1/2)/Γ(3/2)) = std·√2
    assert abs(alpha - 2) < 0.05 and abs(left - 2 * math.sqrt(2)) < 0.05 and abs(right - 2 * math.sqrt(2)) < 0.05
    alpha, _, _ = aggd_params(rng.laplace(0, 1.0, 200_000))
    assert abs(alpha - 1) < 0.05
    skewed = np.concatenate([-np.abs(rng.normal(0, 1, 100_000)), np.abs(rng.normal(0, 3, 100_000))])
    _, left, right = aggd_params(skewed)
    assert right / left == pytest.approx(3, rel=0.05)


def test_matlab_resize_weights_follow_the_antialiased_cubic_kernel():
    matrix = resize_matrix(20, 0.5)
    assert matrix.shape == (10, 20) and np.allclose(matrix.sum(axis=1), 1)
    # interior row i: weights 0.5·cubic(0.5·(u - j)) at source j (1-based), u = 2i - 0.5, normalised
    i = 5
    u = i / 0.5 + 0.5 * (1 - 1 / 0.5)
    expected = np.array([0.5 * cubic(np.array(0.5 * (u - j))) for j in range(1, 21)])
    np.testing.assert_allclose(matrix[i - 1], expected / expected.sum(), atol=1e-12)
    # a linear ramp stays linear inside (the kernel is symmetric), and a constant stays constant everywhere
    ramp = np.add.outer(np.arange(40.0), 2 * np.arange(40.0))
    half = matlab_resize(ramp, 0.5)
    centres = np.arange(1, 21) * 2 - 0.5 - 1  # 0-based source positions
    np.testing.assert_allclose(half[4:16, 4:16], np.add.outer(centres, 2 * centres)[4:16, 4:16], atol=1e-9)
    np.testing.assert_allclose(matlab_resize(np.full((13, 9), 7.0), 0.5), 7.0)


def test_pristine_model_is_the_authors():
    mu, cov, window = pristine_params()
    assert mu.shape == (1, 36) and cov.shape == (36, 36) and window.shape == (7, 7)
    np.testing.assert_allclose(cov, cov.T) and np.testing.assert_allclose(window.sum(), 1)


def test_more_noise_raises_niqe():
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:192, 0:192] / 192.0
    # shading plus band-limited detail, then white noise of growing strength
    detail = matlab_resize(rng.normal(0, 1, (96, 96)), 2.0)
    clean = np.clip(128 + 60 * np.sin(6 * xx) * np.cos(4 * yy) + 25 * detail, 0, 255)
    scores = [niqe(np.clip(clean + rng.normal(0, sigma, clean.shape), 0, 255).round()) for sigma in (0, 20, 50)]
    assert np.isfinite(scores).all() and scores[0] < scores[1] < scores[2], scores
    with pytest.raises(ValueError, match="two 96×96 blocks"):
        niqe(clean[:96, :150])


def test_metric_reads_pred_img_and_names_bad_arguments():
    metric = NIQE(input_order="CHW", convert_to="Y", prefix="RealSR")
    metric.setup(None)
    image = torch.from_numpy(np.random.default_rng(2).integers(0, 256, (2, 3, 96, 192))).float()
    metric.process({}, {"pred_img": image})
    result = metric.compute()
    assert list(result) == ["NIQE"] and np.isfinite(result["NIQE"])
    with pytest.raises(ConfigError, match="convert_to"):
        NIQE(convert_to="rgb")
    with pytest.raises(ConfigError, match="pred"):
        metric.process({}, {"other": image})
