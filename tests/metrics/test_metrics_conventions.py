"""convention='official' | 'mmagic': each switch reproduces its reference formula, computed here in float64."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from metric_test_nets import TinyFeatures, TinyGenerator, batches, real_images, run_metrics
from reference_formulas import ms_ssim_float64, precision_recall_float64
from mgx.core.errors import ConfigError
from mgx.core.registry import build
from mgx.plugins.metrics.functional import knn_radii, precision_recall


def _rounded_to_4_decimals(value: float, unrounded: float) -> bool:
    return value == round(value, 4) and abs(value - unrounded) <= 5e-5 + 1e-7


def test_ms_ssim_official_multiplies_per_channel_and_mmagic_averages_channels_first(tmp_path):
    gen = TinyGenerator()
    metrics = [dict(type="MS_SSIM", prefix="official", fake_nums=6),
               dict(type="MS_SSIM", prefix="mmagic", fake_nums=6, convention="mmagic")]
    results, _, ctx = run_metrics(metrics, gen, tmp_path)
    images = ctx.generate(list(range(6)), "ema")
    first, second = images[0::2], images[1::2]
    official = float(ms_ssim_float64(first, second).mean())
    mmagic = float(ms_ssim_float64(first, second, channel_mean_first=True).mean())
    assert abs(official - mmagic) > 1e-3  # the two conventions really differ on these images
    assert results["official/avg"] == pytest.approx(official, abs=1e-6)
    assert _rounded_to_4_decimals(results["mmagic/avg"], mmagic)


def test_swd_mmagic_rounds_each_value_to_4_decimals(tmp_path):
    reals = real_images(8)
    metrics = [dict(type="SWD", prefix="official", fake_nums=8),
               dict(type="SWD", prefix="mmagic", fake_nums=8, convention="mmagic")]
    results, _, _ = run_metrics(metrics, TinyGenerator(), tmp_path, dataloader=batches(reals, 4))
    for key in ("32", "16", "avg"):
        official = results[f"official/{key}"]
        assert official != round(official, 4)
        assert _rounded_to_4_decimals(results[f"mmagic/{key}"], official)


def test_pr_float16_radii_equal_the_brute_force_definition_with_rounded_radii():
    gen = torch.Generator().manual_seed(7)
    real = torch.randn(40, 6, generator=gen) * 40  # radii large enough that float16 rounds them visibly
    fake = torch.randn(40, 6, generator=gen) * 45
    radii = [knn_radii(x, 3).half().float() for x in (real, fake)]
    assert not torch.equal(radii[0], knn_radii(real, 3))
    got = precision_recall(real, fake, 3, 16, 16, real_radii=radii[0], fake_radii=radii[1])
    assert got == precision_recall_float64(real, fake, 3, radius_dtype=np.float16)


def test_pr_mmagic_draws_real_nums_with_replacement_and_rounds_radii(tmp_path):
    net = TinyFeatures(dim=8)
    reals = real_images(60)
    metrics = [dict(type="PR", prefix="official", fake_nums=30, real_nums=30, feature_extractor=net),
               dict(type="PR", prefix="mmagic", fake_nums=30, real_nums=30, feature_extractor=net,
                    convention="mmagic")]
    results, _, ctx = run_metrics(metrics, TinyGenerator(), tmp_path, dataloader=batches(reals, 32), seed=3)
    fakes = ctx.generate(list(range(30)), "ema")
    with torch.no_grad():
        real_features = torch.cat([net(reals[i:i + 32].float()) for i in range(0, 60, 32)])
        fake_features = torch.cat([net(fakes[i:i + 16]) for i in range(0, 30, 16)])
    official = precision_recall_float64(real_features[:30], fake_features, 3)
    drawn = torch.randint(0, 60, (30,), generator=torch.Generator().manual_seed(3))
    assert len(set(drawn.tolist())) < 30  # with replacement: some reals twice
    mmagic = precision_recall_float64(real_features[drawn], fake_features, 3, radius_dtype=np.float16)
    assert (results["official/precision"], results["official/recall"]) == official
    assert (results["mmagic/precision"], results["mmagic/recall"]) == mmagic


@pytest.mark.parametrize("metric", ["MS_SSIM", "SWD", "PR"])
def test_unknown_convention_is_a_config_error_naming_the_choices(metric):
    from metric_test_nets import plugin_manager

    plugin_manager()
    with pytest.raises(ConfigError, match=r"convention must be one of \('official', 'mmagic'\), got 'stylegan'"):
        build(dict(type=metric, fake_nums=10, convention="stylegan"), "metric")
