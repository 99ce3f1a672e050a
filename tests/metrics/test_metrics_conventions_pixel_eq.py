"""convention='mmagic' for MSE, MAE and Equivariance against float64 computations of MMagic 1.2.0's definitions."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from metric_test_nets import TinyGenerator, WaveGenerator, batches, run_metrics
from mgx.plugins.metrics.equivariance import Equivariance


def _pairs(n=6, seed=0):
    gen = torch.Generator().manual_seed(seed)
    gt = torch.randint(0, 256, (n, 3, 8, 8), generator=gen).double()
    pred = (gt + torch.randn(n, 3, 8, 8, generator=gen, dtype=torch.float64) * 20).clamp(0, 255).round()
    soft = torch.rand(n, 1, 8, 8, generator=gen, dtype=torch.float64)
    soft[soft < 0.3] = 0  # soft weights and zeros, one channel
    return gt, pred, soft


def _mmagic_pixel_metrics(gt, pred, mask):
    """MMagic's process_image per image (mask binarized: mask != 0 -> 1), averaged over images, in numpy float64."""
    mses, maes = [], []
    for g, p, m in zip(gt.numpy(), pred.numpy(), mask.numpy()):
        m = m.copy()
        m[m != 0] = 1
        diff = g / 255.0 - p / 255.0
        mses.append((diff * diff * m).sum() / m.sum())
        scale = np.prod(diff.shape) / np.prod(m.shape)
        maes.append((abs(diff) * m).sum() / (m.sum() * scale + 1e-12))
    return float(np.mean(mses)), float(np.mean(maes))


def test_mse_and_mae_mmagic_binarize_the_mask_and_mse_divides_by_the_mask_as_given(tmp_path):
    gt, pred, soft = _pairs()
    loader = batches(gt, 4, pred_img=pred, mask=soft)
    cfgs = [dict(type=t, mask_key="mask", convention=c, prefix=c) for t in ("MSE", "MAE") for c in ("official", "mmagic")]
    res, _, _ = run_metrics(cfgs, TinyGenerator(), tmp_path, dataloader=loader,
                            val_step=lambda b: {"pred_img": b["pred_img"]})
    mmagic_mse, mmagic_mae = _mmagic_pixel_metrics(gt, pred, soft)
    assert res["mmagic/MSE"] == pytest.approx(mmagic_mse, rel=1e-9)
    assert res["mmagic/MAE"] == pytest.approx(mmagic_mae, rel=1e-9)
    weights = soft.expand_as(gt)
    official_mse = (((pred - gt) / 255) ** 2 * weights).flatten(1).sum(1) / weights.flatten(1).sum(1)
    assert res["official/MSE"] == pytest.approx(float(official_mse.mean()), rel=1e-9)
    binary = (soft != 0).double()
    assert res["mmagic/MSE"] == pytest.approx(3 * float(((((pred - gt) / 255) ** 2 * binary).flatten(1).sum(1)
                                                          / (3 * binary.flatten(1).sum(1))).mean()), rel=1e-9)
    assert abs(res["mmagic/MAE"] - res["official/MAE"]) > 1e-4  # soft weights vs binarized


def test_equivariance_mmagic_averages_per_batch_ratios_where_official_pools(tmp_path, monkeypatch):
    eq_cfg = dict(compute_eqt_int=True, compute_eqt_frac=True, compute_eqr=True)
    per_sample = []
    original = Equivariance._one_sample

    def recording(self, *args):
        sums = original(self, *args)
        per_sample.append(sums.clone())
        return sums

    monkeypatch.setattr(Equivariance, "_one_sample", recording)
    cfgs = [dict(type="EQ", fake_nums=6, eq_cfg=eq_cfg, convention=c, prefix=c) for c in ("official", "mmagic")]
    res, _, _ = run_metrics(cfgs, WaveGenerator(equivariant=False), tmp_path, batch_size=4)
    official, mmagic = torch.stack(per_sample[:6]), torch.stack(per_sample[6:])
    assert torch.equal(official, mmagic)  # the same draws
    batch_ratios = [mmagic[s:s + 4].sum(0) for s in (0, 4)]  # MMagic: Σdiff/Σmask per batch of 4, then the mean
    mean_mse = sum(b[:, 0] / b[:, 1] for b in batch_ratios) / 2
    pooled_mse = official.sum(0)[:, 0] / official.sum(0)[:, 1]
    for row, key in enumerate(("eqt_int", "eqt_frac", "eqr")):
        assert res[f"mmagic/{key}"] == pytest.approx(20 * math.log10(2) - 10 * math.log10(float(mean_mse[row])),
                                                     abs=1e-9)
        assert res[f"official/{key}"] == pytest.approx(20 * math.log10(2) - 10 * math.log10(float(pooled_mse[row])),
                                                       abs=1e-9)
    assert max(abs(res[f"mmagic/{k}"] - res[f"official/{k}"]) for k in ("eqt_int", "eqt_frac", "eqr")) > 1e-3
