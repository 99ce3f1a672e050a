"""Real-statistics cache: key contents, reuse without reading the data again, refusal of foreign files."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from metric_test_nets import TinyFeatures, TinyGenerator, batches, real_images, run_metrics
from mgx.core.errors import ConfigError
from mgx.plugins.feature_extractors.base import extractor_identity
from mgx.plugins.metrics import real_stats_cache as cache

DATA_CFG = dict(batch_size=8, num_workers=2, dataset=dict(type="BasicImageDataset", data_root="data/x",
                                                          pipeline=[dict(type="LoadImageFromFile")]))


class ExplodingLoader:
    """A dataloader that fails the test if the evaluation reads it."""

    def __iter__(self):
        raise AssertionError("real images were read although cached statistics exist")


def test_cache_key_depends_on_dataset_extractor_and_real_nums_only():
    base = cache.cache_key(DATA_CFG, "net:sha256=1", 100, "moments")
    assert base == cache.cache_key({**DATA_CFG, "batch_size": 64, "num_workers": 0}, "net:sha256=1", 100, "moments")
    other_pipeline = {**DATA_CFG, "dataset": {**DATA_CFG["dataset"], "pipeline": [dict(type="Resize")]}}
    assert base != cache.cache_key(other_pipeline, "net:sha256=1", 100, "moments")
    assert base != cache.cache_key(DATA_CFG, "net:sha256=2", 100, "moments")
    assert base != cache.cache_key(DATA_CFG, "net:sha256=1", 50, "moments")
    assert base != cache.cache_key(DATA_CFG, "net:sha256=1", 100, "features")


def test_extractor_identity_follows_weights():
    a, b = TinyFeatures(seed=0), TinyFeatures(seed=0)
    assert extractor_identity(a) == extractor_identity(b)
    assert extractor_identity(a) != extractor_identity(TinyFeatures(seed=1))


def test_extractor_identity_of_a_network_with_batch_norm():
    # BatchNorm keeps a 0-dim int64 buffer (num_batches_tracked); the digest covers it too
    def net(tracked):
        torch.manual_seed(0)
        module = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
        module[1].num_batches_tracked.fill_(tracked)
        return module

    assert extractor_identity(net(0)) == extractor_identity(net(0))
    assert extractor_identity(net(0)) != extractor_identity(net(1))


@pytest.mark.parametrize("metric", [
    dict(type="FID", fake_nums=40),
    dict(type="KID", fake_nums=40, subsets=3, subset_size=20),
    dict(type="PR", fake_nums=40),
])
def test_second_evaluation_uses_cached_real_statistics(tmp_path, metric):
    cfg = {**metric, "feature_extractor": dict(type="TinyFeatures")}
    reals = real_images(48)
    first, _, _ = run_metrics([cfg], TinyGenerator(), tmp_path, dataloader=batches(reals, 16), dataloader_cfg=DATA_CFG)
    files = list((tmp_path / "cache" / "real_stats").iterdir())
    assert len(files) == 1 and files[0].suffix == ".pt"
    second, _, _ = run_metrics([cfg], TinyGenerator(), tmp_path, dataloader=ExplodingLoader(), dataloader_cfg=DATA_CFG)
    assert second == pytest.approx(first, rel=1e-12)


def test_other_extractor_or_dataset_does_not_hit_the_cache(tmp_path):
    reals = real_images(48)
    cfg = dict(type="FID", fake_nums=40, feature_extractor=dict(type="TinyFeatures"))
    run_metrics([cfg], TinyGenerator(), tmp_path, dataloader=batches(reals, 16), dataloader_cfg=DATA_CFG)
    other = dict(cfg, feature_extractor=dict(type="TinyFeatures", seed=4))
    with pytest.raises(AssertionError, match="real images were read"):
        run_metrics([other], TinyGenerator(), tmp_path, dataloader=ExplodingLoader(), dataloader_cfg=DATA_CFG)


def test_inception_pkl_made_with_another_extractor_is_refused(tmp_path):
    stats = tmp_path / "stats.pt"
    cache.save_stats(stats, extractor_identity(TinyFeatures(seed=9)), "moments",
                     {"count": torch.tensor(3), "sum": torch.zeros(16, dtype=torch.float64),
                      "outer": torch.eye(16, dtype=torch.float64)}, -1)
    cfg = dict(type="FID", fake_nums=20, inception_pkl=str(stats), feature_extractor=dict(type="TinyFeatures"))
    with pytest.raises(ConfigError, match="was made with feature extractor") as info:
        run_metrics([cfg], TinyGenerator(), tmp_path)
    assert str(stats) in str(info.value)


def test_inception_pkl_of_the_same_extractor_replaces_the_real_pass(tmp_path):
    reals = real_images(48)
    cfg = dict(type="FID", fake_nums=40, feature_extractor=dict(type="TinyFeatures"))
    direct, _, _ = run_metrics([cfg], TinyGenerator(), tmp_path, dataloader=batches(reals, 16),
                               dataloader_cfg=DATA_CFG)
    made = next((tmp_path / "cache" / "real_stats").iterdir())
    with_pkl, _, _ = run_metrics([dict(cfg, inception_pkl=str(made))], TinyGenerator(), tmp_path / "other",
                                 dataloader=ExplodingLoader())
    assert with_pkl == pytest.approx(direct, rel=1e-12)


def test_npz_mu_sigma_is_read_without_pickle_and_pickles_are_refused(tmp_path):
    net = TinyFeatures()
    feats = net(real_images(48).float()).detach().double()
    npz = tmp_path / "stats.npz"
    np.savez(npz, mu=feats.mean(0).numpy(), sigma=np.cov(feats.numpy(), rowvar=False))
    record = cache.load_stats(npz, "ignored", "moments")
    assert torch.allclose(record["mu"], feats.mean(0))
    evil = tmp_path / "evil.pkl"
    torch.save({"format": cache.FORMAT, "payload": TinyFeatures()}, evil)  # a pickled module, not plain data
    with pytest.raises(ConfigError, match="without running pickled code"):
        cache.load_stats(evil, "x", "moments")


def test_cache_write_is_atomic_and_leaves_no_temp_files(tmp_path):
    target = tmp_path / "real_stats" / "fid-x.pt"
    cache.save_stats(target, "id", "features", {"features": torch.ones(2, 3)}, 10)
    cache.save_stats(target, "id", "features", {"features": torch.zeros(2, 3)}, 10)
    assert [p.name for p in target.parent.iterdir()] == ["fid-x.pt"]
    assert torch.equal(cache.load_stats(target, "id", "features")["features"], torch.zeros(2, 3))
