"""Base for metrics that need every real and fake feature vector (KID, PR)."""
from __future__ import annotations

import torch

from mgx.core import distributed
from mgx.core.errors import MgxError
from mgx.core.evaluation import GenerativeMetric

from mgx.plugins.feature_extractors.base import extractor_identity

from . import real_stats_cache as cache
from ._common import agree_on_all_ranks, keep_below, prepare_extractor, run_extractor


class FeatureSetMetric(GenerativeMetric):
    """Collects features of reals and fakes with their global indices; real features are cached.

    Subclasses set ``cache_name``, ``precomputed_arg`` (the attribute naming a
    precomputed real-features file) and implement ``_make_extractor`` and ``_score``.
    """

    needs_reals = True
    cache_name = "features"
    precomputed_arg = "inception_pkl"

    def _make_extractor(self) -> torch.nn.Module:
        raise NotImplementedError

    def _score(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
        raise NotImplementedError

    def prepare_resources(self) -> None:
        if getattr(self, "_extractor", None) is None:
            self._extractor = self._make_extractor()
            self._identity = extractor_identity(self._extractor)

    def setup(self, ctx) -> None:
        self.ctx = ctx
        self.prepare_resources()
        prepare_extractor(self._extractor, ctx.device)
        self.add_rows_state("_reals")
        self.add_rows_state("_fakes")
        self._real_features = None
        self._cache_file = None
        self.needs_reals = True
        precomputed = getattr(self, self.precomputed_arg, None)
        if precomputed:
            record = cache.load_stats(precomputed, self._identity, "features", field=self.precomputed_arg)
            self._real_features = record["features"]
            self.needs_reals = False
            return
        if ctx.dataloader_cfg is None or ctx.cache_dir is None:
            return
        key = cache.cache_key(ctx.dataloader_cfg, self._identity, self.real_nums, "features")
        self._cache_file = cache.cache_path(ctx.cache_dir, self.cache_name, key)
        record = cache.try_load(self._cache_file, self._identity, "features")
        if agree_on_all_ranks(record is not None):
            self._real_features = record["features"]
            self.needs_reals = False

    def _features(self, images: torch.Tensor) -> torch.Tensor:
        return run_extractor(self._extractor, images, self.ctx.device, self.ctx.amp)

    def process_real(self, images: torch.Tensor, indices: torch.Tensor) -> None:
        images, indices = keep_below(images, indices, self.real_nums)
        if indices.numel():
            self._reals.add(self._features(images), indices)

    def process_fake(self, images: torch.Tensor, indices: torch.Tensor) -> None:
        images, indices = keep_below(images, indices, self.fake_nums)
        if indices.numel():
            self._fakes.add(self._features(images), indices)

    def compute(self) -> dict[str, float]:
        fake, real = self._fakes, self._real_features
        if real is None:
            real = self._reals
            if real is not None and self._cache_file is not None and distributed.is_main_process():
                cache.save_stats(self._cache_file, self._identity, "features", {"features": real}, self.real_nums)
        if real is None or fake is None:
            raise MgxError(f"{type(self).__name__} received no {'fake' if fake is None else 'real'} samples on any "
                           f"process: check fake_nums/real_nums and the dataloader")
        return self._score(real.to(self.ctx.device), fake.to(self.ctx.device))
