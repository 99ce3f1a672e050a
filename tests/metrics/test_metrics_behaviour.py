"""Each metric class through mgx's Evaluator with tiny networks: keys, sanity of values, bad input."""
from __future__ import annotations

import math

import pytest
import torch

from metric_test_nets import (NoSampleModel, TinyGenerator, WaveGenerator, batches, plugin_manager,
                              real_images, run_metrics)
from mgx.core.errors import ConfigError, MgxError
from mgx.core.registry import build
from mgx.plugins.metrics.functional.precision_recall import precision_recall
from mgx.plugins.metrics.functional.ppl import robust_mean, slerp


@pytest.fixture(autouse=True)
def _plugins():
    plugin_manager()


def test_every_mmagic_name_and_alias_is_registered():
    names = set(plugin_manager().registry.names("metric"))
    expected = {"FrechetInceptionDistance", "FID", "FID-Full", "TransFID", "InceptionScore", "IS", "TransIS",
                "PrecisionAndRecall", "PR", "PerceptualPathLength", "PPL", "MultiScaleStructureSimilarity",
                "MS_SSIM", "SlicedWassersteinDistance", "SWD", "Equivariance", "EQ", "KernelInceptionDistance",
                "KID", "PSNR", "SSIM", "MAE", "MSE"}
    assert expected <= names


@pytest.mark.parametrize("metric", ["FID", "KID", "PR", "PPL", "MS_SSIM", "SWD", "EQ"])
def test_fake_nums_is_required(metric):
    with pytest.raises(ConfigError, match="fake_nums"):
        build(dict(type=metric), "metric")


def test_bad_arguments_are_config_errors():
    with pytest.raises(ConfigError, match="even"):
        build(dict(type="MS_SSIM", fake_nums=11), "metric")
    with pytest.raises(ConfigError, match="inception_style"):
        build(dict(type="FID", fake_nums=10, inception_style="TF"), "metric")
    with pytest.raises(ConfigError, match="space"):
        build(dict(type="PPL", fake_nums=10, space="X"), "metric")
    with pytest.raises(ConfigError, match="eq_cfg"):
        build(dict(type="EQ", fake_nums=10, eq_cfg=dict(compute_eqt_int=True, bogus=1)), "metric")
    with pytest.raises(ConfigError, match="subset_size"):
        build(dict(type="KID", fake_nums=10), "metric")
    with pytest.raises(ConfigError, match="unknown argument"):
        build(dict(type="FID", fake_nums=10, fake_num=3), "metric")
    with pytest.raises(ConfigError, match="convert_to"):
        build(dict(type="PSNR", convert_to="RGB"), "metric")


def test_fid_of_a_set_against_itself_is_zero_and_grows_with_distortion(tmp_path):
    reals = real_images(64)

    class Replay(torch.nn.Module):
        """A 'generator' that returns real image i for noise row i (the noise carries the index)."""
        latent_dim = 1

        def __init__(self, shift):
            super().__init__()
            self.shift = shift

        def sample(self, num=None, *, noise=None, sample_model="ema"):
            return (reals[self.order[: noise.shape[0]]].float() / 127.5 - 1 + self.shift).clamp(-1, 1)

    # Evaluate the whole set as fakes in one batch so sample() sees indices 0..63 in order.
    same = Replay(0.0)
    same.order = torch.arange(64)
    cfg = dict(type="FID", fake_nums=64, feature_extractor=dict(type="TinyFeatures"))
    res, _, _ = run_metrics([cfg], same, tmp_path, dataloader=batches(reals, 16), batch_size=64)
    assert abs(res["FID-Full/fid"]) < 1e-6
    shifted = Replay(0.3)
    shifted.order = torch.arange(64)
    res2, _, _ = run_metrics([cfg], shifted, tmp_path, dataloader=batches(reals, 16), batch_size=64)
    assert res2["FID-Full/fid"] > 1e-3


def test_real_nums_limits_the_real_set(tmp_path):
    reals = real_images(64)
    cfg = dict(type="FID", fake_nums=32, feature_extractor=dict(type="TinyFeatures"))
    limited, _, _ = run_metrics([dict(cfg, real_nums=32)], TinyGenerator(), tmp_path,
                                dataloader=batches(reals, 16))
    only_first, _, _ = run_metrics([cfg], TinyGenerator(), tmp_path, dataloader=batches(reals[:32], 16))
    assert limited == pytest.approx(only_first, rel=1e-12)


def test_precision_recall_definition():
    real = torch.tensor([[0.0], [1.0], [2.0], [3.0], [4.0]])
    assert precision_recall(real, real.clone(), k=1) == (1.0, 1.0)
    far = real + 100
    assert precision_recall(real, far, k=1) == (0.0, 0.0)
    half = torch.tensor([[0.5], [1.5], [50.0], [60.0], [70.0]])
    precision, recall = precision_recall(real, half, k=1)
    assert precision == pytest.approx(0.4)


def test_pr_and_kid_through_the_evaluator(tmp_path):
    reals = real_images(48)
    res, _, _ = run_metrics([dict(type="PR", fake_nums=40, k=3, feature_extractor=dict(type="TinyFeatures")),
                             dict(type="KID", fake_nums=40, subsets=5, subset_size=20,
                                  feature_extractor=dict(type="TinyFeatures"))],
                            TinyGenerator(), tmp_path, dataloader=batches(reals, 16))
    assert 0 <= res["PR/precision"] <= 1 and 0 <= res["PR/recall"] <= 1
    assert set(res) == {"PR/precision", "PR/recall", "KID/kid_mean", "KID/kid_std"}


def test_inception_score_of_confident_diverse_classes_is_near_class_count(tmp_path):
    class OneHot(torch.nn.Module):
        def forward(self, images):
            return images.mean(dim=(2, 3))

        def class_probabilities(self, images):
            cls = (images[:, 0, 0, 0] / 255 * 3.999).floor().long()
            return torch.nn.functional.one_hot(cls, 4).double() * 0.999 + 0.00025

    class Cycler(torch.nn.Module):
        latent_dim = 1

        def sample(self, num=None, *, noise=None, sample_model="ema"):
            levels = torch.tensor([-1.0, -0.4, 0.2, 0.9])[torch.arange(noise.shape[0]) % 4]
            return levels.view(-1, 1, 1, 1).expand(-1, 3, 8, 8)

    res, _, _ = run_metrics([dict(type="IS", fake_nums=40, splits=2, feature_extractor=OneHot())], Cycler(),
                            tmp_path, batch_size=40)
    assert res["IS/is"] == pytest.approx(4.0, rel=0.02)
    assert res["IS/is_std"] < 1e-6


def test_ms_ssim_of_identical_pairs_is_one_and_of_diverse_pairs_lower(tmp_path):
    class Twins(torch.nn.Module):
        latent_dim = 4

        def sample(self, num=None, *, noise=None, sample_model="ema"):
            base = torch.tanh(noise[:, :3, None, None].repeat(1, 1, 32, 32)) * 0.5
            return base[(torch.arange(noise.shape[0]) // 2) * 2] if self.twins else torch.tanh(
                torch.randn(noise.shape[0], 3, 32, 32, generator=torch.Generator().manual_seed(0)))

    twins = Twins()
    twins.twins = True
    res, _, _ = run_metrics([dict(type="MS_SSIM", fake_nums=10)], twins, tmp_path, batch_size=10)
    assert res["MS-SSIM/avg"] == pytest.approx(1.0, abs=1e-9)
    # Odd batch size: pairs straddle batches (and, on several ranks, shards); every pair is still scored.
    twins.twins = False
    res_a, _, _ = run_metrics([dict(type="MS_SSIM", fake_nums=10)], twins, tmp_path, batch_size=3)
    assert res_a["MS-SSIM/avg"] < 0.5


def test_swd_keys_and_ordering(tmp_path):
    reals = real_images(24, size=32)
    res, _, _ = run_metrics([dict(type="SWD", fake_nums=24, image_shape=(3, 32, 32))], TinyGenerator(), tmp_path,
                            dataloader=batches(reals, 16))
    assert set(res) == {"SWD/32", "SWD/16", "SWD/avg"}
    assert res["SWD/avg"] == pytest.approx((res["SWD/32"] + res["SWD/16"]) / 2)

    class Replay(torch.nn.Module):
        latent_dim = 1

        def sample(self, num=None, *, noise=None, sample_model="ema"):
            return reals[: noise.shape[0]].float() / 127.5 - 1

    same, _, _ = run_metrics([dict(type="SWD", fake_nums=24)], Replay(), tmp_path, dataloader=batches(reals, 16),
                             batch_size=24)
    assert same["SWD/avg"] < res["SWD/avg"]


def test_ppl_runs_in_w_and_z_and_needs_mapping(tmp_path):
    lpips = dict(type="TinyLPIPS")
    w, _, _ = run_metrics([dict(type="PPL", fake_nums=24, feature_extractor=lpips, crop=False)], TinyGenerator(),
                          tmp_path)
    z, _, _ = run_metrics([dict(type="PPL", fake_nums=24, feature_extractor=lpips, space="Z", sampling="full")],
                          TinyGenerator(), tmp_path)
    assert w["PPL/ppl_score"] > 0 and math.isfinite(w["PPL/ppl_score"]) and z["PPL/ppl_score"] > 0
    with pytest.raises(MgxError, match="NoSampleModel has no mapping method"):
        run_metrics([dict(type="PPL", fake_nums=4, feature_extractor=lpips)], NoSampleModel(), tmp_path)


def test_ppl_helpers():
    a, b = torch.randn(5, 8), torch.randn(5, 8)
    mid = slerp(a, b, torch.full((5, 1), 0.5))
    assert torch.allclose(mid.norm(dim=1), torch.ones(5), atol=1e-6)
    assert torch.allclose(slerp(a, b, torch.zeros(5, 1)), a / a.norm(dim=1, keepdim=True), atol=1e-6)
    values = torch.arange(1000, dtype=torch.float64).numpy()
    values[0], values[-1] = -1e9, 1e9
    assert robust_mean(values) == pytest.approx(499.5, abs=1.0)


def test_equivariance_of_an_equivariant_toy_beats_a_non_equivariant_one(tmp_path):
    cfg = [dict(type="EQ", fake_nums=4, eq_cfg=dict(compute_eqt_int=True, compute_eqt_frac=True,
                                                        compute_eqr=True))]
    good, _, _ = run_metrics(cfg, WaveGenerator(), tmp_path)
    bad, _, _ = run_metrics(cfg, WaveGenerator(equivariant=False), tmp_path)
    assert good["EQ/eqt_int"] > 60 and good["EQ/eqt_frac"] > 40 and good["EQ/eqr"] > 35
    for key in ("EQ/eqt_int", "EQ/eqt_frac", "EQ/eqr"):
        assert bad[key] < good[key] - 15


def test_equivariance_without_transform_support_names_model_and_method(tmp_path):
    cfg = [dict(type="EQ", fake_nums=2, eq_cfg=dict(compute_eqt_int=True))]
    with pytest.raises(MgxError, match=r"TinyGenerator\.synthesis takes no 'transform'"):
        run_metrics(cfg, TinyGenerator(), tmp_path)


def test_generative_metric_on_a_model_without_sample_names_it(tmp_path):
    with pytest.raises(MgxError, match="NoSampleModel has no sample"):
        run_metrics([dict(type="IS", fake_nums=4, splits=1, feature_extractor=dict(type="TinyFeatures"))],
                    NoSampleModel(), tmp_path)


def test_extractor_without_class_probabilities_is_refused_for_is(tmp_path):
    with pytest.raises(ConfigError, match="class_probabilities"):
        run_metrics([dict(type="IS", fake_nums=4, feature_extractor=torch.nn.Flatten())], TinyGenerator(), tmp_path)


def _paired_loader(n=6, size=20):
    gt = real_images(n, size=size)
    noise = torch.randn(gt.shape, generator=torch.Generator().manual_seed(2)) * 12
    pred = (gt.float() + noise).clamp(0, 255)
    return gt, pred


def test_paired_metrics_keys_crop_and_y(tmp_path):
    gt, pred = _paired_loader()
    loader = batches(gt, 4, pred_img=pred)

    def val_step(batch):
        return {"pred_img": batch["pred_img"]}

    cfgs = [dict(type="PSNR"), dict(type="SSIM", crop_border=2), dict(type="MAE"), dict(type="MSE"),
            dict(type="PSNR", convert_to="Y", prefix="Y")]
    res, _, _ = run_metrics(cfgs, TinyGenerator(), tmp_path, dataloader=loader, val_step=val_step)
    assert set(res) == {"PSNR", "SSIM", "MAE", "MSE", "Y/PSNR"}
    mse_255 = ((pred.double() - gt.double()) ** 2).flatten(1).mean(1)
    assert res["PSNR"] == pytest.approx(float((10 * torch.log10(255 ** 2 / mse_255)).mean()), rel=1e-12)
    assert res["MSE"] == pytest.approx(float((mse_255 / 255 ** 2).mean()), rel=1e-12)
    assert res["Y/PSNR"] != res["PSNR"]
    hwc = [dict(b, gt_img=b["gt_img"].permute(0, 2, 3, 1), pred_img=b["pred_img"].permute(0, 2, 3, 1)) for b in loader]
    res_hwc, _, _ = run_metrics([dict(type="PSNR", input_order="HWC")], TinyGenerator(), tmp_path, dataloader=hwc,
                                val_step=val_step)
    assert res_hwc["PSNR"] == pytest.approx(res["PSNR"], rel=1e-12)


def test_paired_metric_names_missing_keys(tmp_path):
    gt, _ = _paired_loader()
    with pytest.raises(ConfigError, match="pred_img"):
        run_metrics([dict(type="PSNR")], TinyGenerator(), tmp_path, dataloader=batches(gt, 4),
                    val_step=lambda b: {"out": b["gt_img"]})


def test_trans_fid_and_trans_is_read_val_step_outputs(tmp_path):
    gt, pred = _paired_loader(n=24, size=32)
    loader = [dict(b, img=b["gt_img"]) for b in batches(gt, 8, pred_img=pred)]
    res, _, _ = run_metrics([dict(type="TransFID", fake_nums=24, feature_extractor=dict(type="TinyFeatures")),
                             dict(type="TransIS", fake_nums=24, splits=2, feature_extractor=dict(type="TinyFeatures"))],
                            TinyGenerator(), tmp_path, dataloader=loader,
                            val_step=lambda b: {"fake_img": b["pred_img"]})
    assert res["FID-Full/fid"] > 0 and res["IS/is"] >= 1.0
