"""mgx's metric math against reference libraries (torchmetrics, pytorch-msssim, scipy)."""
from __future__ import annotations

import importlib
import os

import numpy as np
import pytest
import scipy.linalg
import torch

from metric_test_nets import LogitsOnly, TinyFeatures, TinyGenerator, batches, real_images, run_metrics
from reference_formulas import kid_float64, ms_ssim_float64, precision_recall_float64, ssim_terms_float64
from mgx.plugins.metrics.functional import (RunningMoments, frechet_distance, inception_score_from_split_sums,
                                            inception_split_sums, kid_from_features, mae, ms_ssim, mse,
                                            precision_recall, psnr, rgb_to_y, ssim)


def _reference(module: str):
    """Reference libraries are test dependencies: skip without them locally, fail under CI=true."""
    if os.environ.get("CI", "").lower() == "true":
        return importlib.import_module(module)
    return pytest.importorskip(module)


torchmetrics_image = _reference("torchmetrics.image")
# imported from their modules: torchmetrics.image only re-exports them when torch-fidelity is installed
from torchmetrics.image.fid import FrechetInceptionDistance as TMFrechetInceptionDistance  # noqa: E402
from torchmetrics.image.inception import InceptionScore as TMInceptionScore  # noqa: E402
from torchmetrics.image.kid import KernelInceptionDistance as TMKernelInceptionDistance  # noqa: E402
pytorch_msssim = _reference("pytorch_msssim")


def _random_cov(d, seed):
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(d, 2 * d, generator=gen, dtype=torch.float64)
    return a @ a.T / (2 * d), torch.randn(d, generator=gen, dtype=torch.float64)


def test_frechet_distance_matches_scipy_sqrtm_formula():
    s1, m1 = _random_cov(64, 0)
    s2, m2 = _random_cov(64, 1)
    fid, mean, cov = frechet_distance(m1, s1, m2, s2)
    root = scipy.linalg.sqrtm(s1.numpy() @ s2.numpy()).real
    expected_cov = np.trace(s1.numpy()) + np.trace(s2.numpy()) - 2 * np.trace(root)
    expected_mean = float(((m1 - m2) ** 2).sum())
    assert mean == pytest.approx(expected_mean, rel=1e-12)
    assert cov == pytest.approx(expected_cov, rel=1e-9)
    assert fid == pytest.approx(expected_mean + expected_cov, rel=1e-9)


def test_frechet_distance_of_rank_deficient_covariances_is_finite_and_zero_for_equal_sets():
    feats = torch.randn(10, 32, dtype=torch.float64)  # n < d: singular covariance
    moments = RunningMoments()
    moments.update(feats)
    mu, sigma = moments.mean_cov()
    fid, _, _ = frechet_distance(mu, sigma, mu, sigma)
    assert abs(fid) < 1e-7 * float(torch.trace(sigma))  # round-off of the 22 null directions only


def test_running_moments_equal_numpy_cov_and_merge_exactly():
    feats = torch.randn(101, 7, dtype=torch.float64)
    whole = RunningMoments()
    whole.update(feats)
    left, right = RunningMoments(), RunningMoments()
    left.update(feats[:40])
    right.update(feats[40:])
    merged = left.merge(right)
    mu, sigma = merged.mean_cov()
    np.testing.assert_allclose(sigma.numpy(), np.cov(feats.numpy(), rowvar=False), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(mu.numpy(), feats.numpy().mean(0), rtol=1e-12)
    assert merged.count == whole.count == 101
    rebuilt = RunningMoments.from_tensor(merged.as_tensor(), 7)
    assert torch.equal(rebuilt.outer, merged.outer)


def test_fid_metric_equals_torchmetrics_on_the_same_features(tmp_path):
    net = TinyFeatures(dim=16)
    reals = real_images(96)
    gen = TinyGenerator()
    results, evaluator, ctx = run_metrics([dict(type="FID", fake_nums=80, feature_extractor=net)], gen, tmp_path,
                                          dataloader=batches(reals, 32))
    reference = TMFrechetInceptionDistance(feature=net)
    reference.update(reals.float(), real=True)
    fakes = ctx.generate(list(range(80)), "orig")
    reference.update(fakes, real=False)
    expected = float(reference.compute())
    assert results["FID-Full/fid"] == pytest.approx(expected, rel=1e-6)
    assert results["FID-Full/fid"] == pytest.approx(results["FID-Full/mean"] + results["FID-Full/cov"], rel=1e-12)


class _Float64Features(torch.nn.Module):
    """The same features, handed on in float64: torchmetrics then computes KID in float64."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, images):
        return self.net(images.float()).double()


def test_kid_metric_equals_a_float64_computation_with_torchmetrics_subsets(tmp_path):
    net = TinyFeatures(dim=16)
    reals = real_images(60)
    results, _, ctx = run_metrics([dict(type="KID", fake_nums=50, subsets=7, subset_size=30, seed=11,
                                        feature_extractor=net)], TinyGenerator(), tmp_path,
                                  dataloader=batches(reals, 32))
    fakes = ctx.generate(list(range(50)), "orig")
    with torch.no_grad():  # features batched as the metric batched them (32 reals, 16 fakes)
        real_features = torch.cat([net(reals[i:i + 32].float()) for i in range(0, 60, 32)])
        fake_features = torch.cat([net(fakes[i:i + 16]) for i in range(0, 50, 16)])
    mean, std = kid_float64(real_features, fake_features, 7, 30, torch.Generator().manual_seed(11))
    # float32 features, float32 Gram products, float64 kernel and sums: ~1e-7 relative on any CPU.
    assert results["KID/kid_mean"] == pytest.approx(mean, rel=2e-6)
    assert results["KID/kid_std"] == pytest.approx(std, rel=2e-5)
    # torchmetrics on the same float32 features, computed in float64, draws the same subsets
    reference = TMKernelInceptionDistance(feature=_Float64Features(net), subsets=7, subset_size=30)
    reference.update(reals.float(), real=True)
    reference.update(fakes, real=False)
    torch.manual_seed(11)  # torchmetrics draws its subsets from the global RNG
    tm_mean, tm_std = reference.compute()
    assert float(tm_mean) == pytest.approx(mean, rel=1e-6)
    assert float(tm_std) == pytest.approx(std, rel=1e-5)


def test_kid_function_refuses_subsets_larger_than_the_sets():
    with pytest.raises(ValueError, match="subset_size"):
        kid_from_features(torch.randn(5, 3), torch.randn(5, 3), subset_size=10)


def test_inception_score_equals_torchmetrics(tmp_path):
    net = TinyFeatures(dim=16)
    images = real_images(103).float()
    reference = TMInceptionScore(feature=LogitsOnly(net), splits=4)
    reference.update(images)
    torch.manual_seed(3)
    ref_mean, _ = reference.compute()
    order = torch.randperm(103, generator=torch.Generator().manual_seed(3))  # torchmetrics' shuffle
    probs = net.class_probabilities(images).double()[order]
    mean, std = inception_score_from_split_sums(inception_split_sums(probs, torch.arange(103), 103, 4))
    assert mean == pytest.approx(float(ref_mean), rel=1e-6)
    assert std >= 0


def test_inception_score_split_sums_add_up_over_shards():
    probs = torch.softmax(torch.randn(50, 6, dtype=torch.float64) * 2, 1)
    whole = inception_split_sums(probs, torch.arange(50), 50, 10)
    shards = sum(inception_split_sums(probs[i:i + 17], torch.arange(i, min(i + 17, 50)), 50, 10)
                 for i in range(0, 50, 17))
    assert torch.allclose(whole, shards, rtol=1e-13, atol=0)
    assert inception_score_from_split_sums(whole) == pytest.approx(inception_score_from_split_sums(shards), rel=1e-12)


@pytest.mark.parametrize("block", [7, 64])
def test_precision_recall_equals_a_float64_brute_force(block):
    gen = torch.Generator().manual_seed(4)
    real = torch.randn(45, 12, generator=gen)
    fake = torch.randn(38, 12, generator=gen) * 1.3 + 0.2
    expected = precision_recall_float64(real, fake, 3)
    assert 0 < expected[0] < 1 and 0 < expected[1] < 1
    assert precision_recall(real, fake, k=3, row_batch=block, col_batch=block) == expected


def _pair(size, seed=0, n=2):
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, size, size, generator=gen) * 255
    y = (x + torch.randn(x.shape, generator=gen) * 25).clamp(0, 255)
    return x, y


@pytest.mark.parametrize("size", [161, 64])
def test_ms_ssim_equals_a_float64_computation(size):
    x, y = _pair(size, n=3)
    # float32 filtering of mean-shifted images: measured 1.4e-7 on these noise images, ~1e-8 on smooth ones
    assert torch.allclose(ms_ssim(x, y, data_range=255), ms_ssim_float64(x, y), atol=1e-6, rtol=0)


def test_ms_ssim_equals_pytorch_msssim_from_161_px():
    x, y = _pair(161)
    ref = pytorch_msssim.ms_ssim(x.double(), y.double(), data_range=255, size_average=False)
    # pytorch-msssim builds its window in float32 even for float64 images: ~1e-6 from float64
    assert torch.allclose(ms_ssim(x, y, data_range=255), ref, atol=5e-6, rtol=0)


@pytest.mark.parametrize("size", [64, 32])
def test_ms_ssim_works_on_small_images(size):
    x, y = _pair(size)
    values = ms_ssim(x, y)
    assert torch.isfinite(values).all() and ((values > 0) & (values < 1)).all()
    assert torch.allclose(ms_ssim(x, x), torch.ones(2, dtype=torch.float64))
    with pytest.raises(AssertionError):  # the reference refuses what mgx supports
        pytorch_msssim.ms_ssim(x, y, data_range=255)


def test_ssim_equals_a_float64_computation_and_pytorch_msssim():
    x, y = _pair(48)
    assert torch.allclose(ssim(x, y), ssim_terms_float64(x.double(), y.double())[0].mean(dim=1), atol=2e-8, rtol=0)
    ref = pytorch_msssim.ssim(x.double(), y.double(), data_range=255, size_average=False)
    assert torch.allclose(ssim(x, y), ref, atol=5e-6, rtol=0)


def test_psnr_equals_torchmetrics():
    x, y = _pair(24)
    ref = torchmetrics_image.PeakSignalNoiseRatio(data_range=255.0, reduction="none", dim=(1, 2, 3))
    expected = ref(y.double(), x.double())
    assert torch.allclose(psnr(y, x), expected, atol=1e-5, rtol=0)
    assert torch.isinf(psnr(x, x)).all()


def test_mae_mse_y_conversion_against_numpy():
    x, y = _pair(8)
    xn, yn = x.double().numpy(), y.double().numpy()
    np.testing.assert_allclose(mae(y, x).numpy(), (np.abs(yn - xn) / 255).reshape(2, -1).mean(1), rtol=1e-12)
    np.testing.assert_allclose(mse(y, x).numpy(), (((yn - xn) / 255) ** 2).reshape(2, -1).mean(1), rtol=1e-12)
    mask = torch.zeros(2, 1, 8, 8)
    mask[..., :4] = 1
    np.testing.assert_allclose(mae(y, x, mask).numpy(),
                               (np.abs(yn - xn)[..., :4] / 255).reshape(2, -1).mean(1), rtol=1e-12)
    white = torch.full((1, 3, 2, 2), 255.0)
    assert torch.allclose(rgb_to_y(white), torch.full((1, 1, 2, 2), 235.0), atol=1e-3)
    assert torch.allclose(rgb_to_y(torch.zeros(1, 3, 2, 2)), torch.full((1, 1, 2, 2), 16.0))
