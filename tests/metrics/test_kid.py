"""KID's two computations (BLAS syrk on CPU, torch GEMMs elsewhere) against the float64 definition."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from metric_test_nets import plugin_manager
from mgx.core.errors import ConfigError
from mgx.core.registry import build
from mgx.plugins.metrics.functional import kid_from_features, kid_subset_scores, poly_mmd_unbiased
from mgx.plugins.metrics.functional.kid import _cpu_subset_mmd


def mmd_float64(real, fake, picks, degree, gamma, coef):
    """Unbiased MMD² per subset from the definition, in float64 numpy: k(x, y) = (γ x·y + c)^degree."""
    real, fake = np.asarray(real, dtype=np.float64), np.asarray(fake, dtype=np.float64)
    scores = []
    for real_rows, fake_rows in picks:
        x, y = real[np.asarray(real_rows)], fake[np.asarray(fake_rows)]
        m = x.shape[0]
        k_xx, k_yy, k_xy = ((a @ b.T * gamma + coef) ** degree for a, b in ((x, x), (y, y), (x, y)))
        same = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
        scores.append(same - 2 * k_xy.sum() / (m * m))
    return np.array(scores)


def exact_product_features(n, d, shift, seed):
    """float32 features in eighths up to 7/8: every dot product (d ≤ 1000) is exact in float32 whatever the BLAS
    summation order, so a result can differ from the float64 definition only by its kernel and sums."""
    gen = torch.Generator().manual_seed(seed)
    return (torch.randint(0, 8 - shift, (n, d), generator=gen) + shift).float() / 8


def draws(n_real, n_fake, subsets, size, seed):
    gen = torch.Generator().manual_seed(seed)
    return [(torch.randperm(n_real, generator=gen)[:size], torch.randperm(n_fake, generator=gen)[:size])
            for _ in range(subsets)]


# m = 130: the syrk path's 64-column pieces end in a partial one; d = 48: γ = 1/48 is not a power of two.
# 3 subsets of 130 from 300 + 260 features: one syrk per subset; 20 subsets: one syrk of all the features.
@pytest.mark.parametrize("subsets, kind", [(3, "_SyrkPerSubset"), (20, "_SyrkOfAllFeatures")])
@pytest.mark.parametrize("degree, coef", [(3, 1.0), (2, 0.5), (4, 1.0), (1, 0.0)])
def test_float32_features_only_round_in_the_products(subsets, kind, degree, coef):
    real, fake = exact_product_features(300, 48, 0, 0), exact_product_features(260, 48, 1, 1)
    picks = draws(300, 260, subsets, 130, 2)
    assert type(_cpu_subset_mmd(real.numpy(), fake.numpy(), subsets, 130, degree, 1 / 48, coef)).__name__ == kind
    expected = mmd_float64(real, fake, picks, degree, 1 / 48, coef)
    scores = kid_subset_scores(real, fake, picks, degree, None, coef).numpy()  # CPU: BLAS syrk
    torch_scores = np.array([float(poly_mmd_unbiased(real[r], fake[f], degree, None, coef)) for r, f in picks])
    # kernel values are up to ~(48·49/64/48 + 1)^4 ≈ 10: float64 sums of ~10⁴ of them err by < 1e-11
    np.testing.assert_allclose(scores, expected, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(torch_scores, expected, rtol=1e-9, atol=1e-11)


def test_subsets_drawn_with_repeats_are_scored_too():
    """Rows repeated within a subset (draws with replacement) pair with themselves off the diagonal."""
    real, fake = exact_product_features(40, 16, 0, 10), exact_product_features(40, 16, 1, 11)
    gen = torch.Generator().manual_seed(12)
    picks = [(torch.randint(0, 40, (30,), generator=gen), torch.randint(0, 40, (30,), generator=gen))
             for _ in range(30)]
    assert type(_cpu_subset_mmd(real.numpy(), fake.numpy(), 30, 30, 3, 1 / 16, 1.0)).__name__ == "_SyrkOfAllFeatures"
    expected = mmd_float64(real, fake, picks, 3, 1 / 16, 1.0)
    np.testing.assert_allclose(kid_subset_scores(real, fake, picks).numpy(), expected, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(kid_subset_scores(real, fake, picks[:1]).numpy(), expected[:1], rtol=1e-9, atol=1e-11)


def test_float64_features_match_the_definition_to_float64_rounding():
    gen = torch.Generator().manual_seed(3)
    real = torch.randn(200, 70, generator=gen, dtype=torch.float64)
    fake = torch.randn(180, 70, generator=gen, dtype=torch.float64) * 1.1 + 0.05
    picks = draws(200, 180, 4, 150, 4)
    expected = mmd_float64(real, fake, picks, 3, 1 / 70, 1.0)
    np.testing.assert_allclose(kid_subset_scores(real, fake, picks).numpy(), expected, rtol=1e-10, atol=1e-13)


def test_general_float32_features_stay_within_the_product_rounding_bound():
    """Inception-like features: the error must stay below what float32 products alone can cause (the
    worst-case bound |Δ(x·y)| ≤ d·u·Σ|x_k y_k|, u = 2⁻²⁴, whatever the summation order), carried through
    the kernel."""
    gen = torch.Generator().manual_seed(5)
    real = torch.rand(400, 256, generator=gen).square()
    fake = torch.rand(400, 256, generator=gen).square() * 0.6 + 0.15
    picks = draws(400, 400, 3, 200, 6)
    gamma, d, u = 1 / 256, 256, 2.0 ** -24
    expected = mmd_float64(real, fake, picks, 3, gamma, 1.0)
    bounds = []
    for real_rows, fake_rows in picks:  # features are non-negative: Σ|x_k y_k| is the float64 product itself
        x, y = real[real_rows].double().numpy(), fake[fake_rows].double().numpy()
        m = x.shape[0]
        terms = []
        for a, b in ((x, x), (y, y), (x, y)):
            gram = a @ b.T
            slack = d * u * gram * gamma
            terms.append(3 * (gram * gamma + 1 + slack) ** 2 * slack)
        bounds.append((terms[0].sum() + terms[1].sum()) / (m * (m - 1)) + 2 * terms[2].sum() / (m * m))
    scores = kid_subset_scores(real, fake, picks).numpy()
    assert np.all(np.abs(scores - expected) <= np.array(bounds))
    assert np.all(np.array(bounds) < 0.1 * np.abs(expected))  # the bound is tight enough to mean something


def test_kid_from_features_draws_real_then_fake_permutations():
    real, fake = exact_product_features(90, 16, 0, 7), exact_product_features(80, 16, 2, 8)
    mean, std = kid_from_features(real, fake, subsets=5, subset_size=40, generator=torch.Generator().manual_seed(9))
    expected = mmd_float64(real, fake, draws(90, 80, 5, 40, 9), 3, 1 / 16, 1.0)
    assert mean == pytest.approx(expected.mean(), rel=1e-9)
    assert std == pytest.approx(expected.std(), rel=1e-7)


def test_bad_degree_or_subset_size_is_refused():
    real = torch.rand(10, 4)
    with pytest.raises(ValueError, match="degree"):
        kid_from_features(real, real, subsets=2, subset_size=5, degree=0)
    with pytest.raises(ValueError, match="at least 2"):
        kid_from_features(real, real, subsets=2, subset_size=1)
    with pytest.raises(ValueError, match="one number"):
        kid_subset_scores(real, real, [(torch.arange(4), torch.arange(4)), (torch.arange(3), torch.arange(3))])
    plugin_manager()  # activates the built-in plugins for build()
    with pytest.raises(ConfigError, match="degree"):
        build(dict(type="KID", fake_nums=10, subset_size=5, degree=2.5), "metric")
    with pytest.raises(ConfigError, match="subset_size"):
        build(dict(type="KID", fake_nums=10, subset_size=1), "metric")
