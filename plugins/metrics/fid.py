"""Fréchet Inception Distance (FID, FID-Full) and its translation variant TransFID."""
from __future__ import annotations

from pathlib import Path

import torch

from mgx.core import distributed
from mgx.core.errors import ConfigError, MgxError
from mgx.core.evaluation import BaseMetric, GenerativeMetric

from mgx.plugins.feature_extractors.base import extractor_identity

from . import real_stats_cache as cache
from ._common import (agree_on_all_ranks, check_convention, check_extractor_arg, check_inception_style,
                      inception_for_style, keep_below, mmagic_pixels, prepare_extractor, run_extractor)
from .functional.frechet import RunningMoments, frechet_distance


def synced_moments(packed: torch.Tensor | None) -> RunningMoments:
    """The moments of every process's features (a synced sum state of packed moments)."""
    if packed is None:
        raise MgxError("FID received no images on any process: check fake_nums/real_nums and the dataloader")
    reduced = RunningMoments.from_tensor(packed)
    if reduced.count < 2:
        raise MgxError(f"FID needs at least 2 images per set for a covariance, got {reduced.count}")
    return reduced


class _FIDState:
    """Extractor + running moments shared by FID and TransFID."""

    def _init_fid(self, inception_style, inception_path, inception_pkl, feature_extractor,
                  convention="official") -> None:
        name = type(self).__name__
        inception_style = check_inception_style(name, inception_style)
        self.convention = check_convention(name, convention)
        check_extractor_arg(name, feature_extractor)
        self.inception_style = inception_style
        self.inception_path = inception_path
        self.inception_pkl = inception_pkl
        self.feature_extractor = feature_extractor
        self._extractor = None

    def result_keys(self) -> list[str]:
        return ["fid", "mean", "cov"]

    def prepare_resources(self) -> None:
        if self._extractor is None:
            self._extractor = mmagic_pixels(
                inception_for_style(self.feature_extractor, self.inception_style, self.inception_path), self.convention)
            self._identity = extractor_identity(self._extractor)

    def _setup_fid(self, ctx) -> None:
        self.ctx = ctx
        self.prepare_resources()
        prepare_extractor(self._extractor, ctx.device)
        # packed [n, Σx, Σxxᵀ] of the features (RunningMoments.add_packed), sized by the first batch
        self.add_sum_state("_real", shape=None)
        self.add_sum_state("_fake", shape=None)
        self._real_stats = None  # (mu, sigma) when reals come from a file

    def _features(self, images: torch.Tensor) -> torch.Tensor:
        return run_extractor(self._extractor, images, self.ctx.device, self.ctx.amp)

    def _fid(self) -> dict[str, float]:
        fake = synced_moments(self._fake)
        if self._real_stats is not None:
            mu_real, sigma_real = self._real_stats
        else:
            real = synced_moments(self._real)
            mu_real, sigma_real = real.mean_cov()
            self._save_real(real)
        mu_fake, sigma_fake = fake.mean_cov()
        if mu_real.shape != mu_fake.shape:
            raise ConfigError(f"{type(self).__name__}: real statistics have {mu_real.shape[0]} dimensions, "
                              f"the extractor gives {mu_fake.shape[0]}")
        fid, mean, cov = frechet_distance(mu_fake, sigma_fake, mu_real.to(mu_fake), sigma_real.to(sigma_fake))
        return {"fid": fid, "mean": mean, "cov": cov}

    def _save_real(self, real: RunningMoments) -> None:
        """Hook for subclasses that cache real statistics."""


class FrechetInceptionDistance(_FIDState, GenerativeMetric):
    """FID between generated images and the real images of the val/test dataloader.

    Outputs ``fid``, ``mean`` (‖μ_r − μ_f‖²) and ``cov`` (trace term). Real
    statistics are cached under ``ctx.cache_dir/real_stats`` or read from
    ``inception_pkl``. ``convention='mmagic'`` truncates pixels to uint8 where
    the StyleGAN Inception rounds them (MMagic 1.2.0).
    """

    default_prefix = "FID-Full"
    directions = {"fid": "lower", "mean": "lower", "cov": "lower"}
    needs_reals = True

    def __init__(self, fake_nums: int | None = None, real_nums: int = -1, inception_style: str = "StyleGAN",
                 inception_path: str | None = None, inception_pkl: str | None = None,
                 fake_key: str | None = None, real_key: str = "gt_img", need_cond_input: bool = False,
                 sample_model: str = "orig", prefix: str | None = None, feature_extractor=None,
                 convention: str = "official", sample_kwargs: dict | None = None) -> None:
        super().__init__(fake_nums=fake_nums, real_nums=real_nums, real_key=real_key, fake_key=fake_key,
                         need_cond_input=need_cond_input, sample_model=sample_model, prefix=prefix,
                         sample_kwargs=sample_kwargs)
        self._init_fid(inception_style, inception_path, inception_pkl, feature_extractor, convention)

    def setup(self, ctx) -> None:
        self._setup_fid(ctx)
        self._cache_file = None
        self.needs_reals = True
        if self.inception_pkl and _missing_local_file(self.inception_pkl):
            # MMagic's rule: a local inception_pkl that does not exist yet is computed from the real
            # images and written there (MMagic's configs name e.g. ./work_dirs/inception_pkl/cifar10-full.pkl)
            self._cache_file = Path(self.inception_pkl).expanduser()
            return
        if self.inception_pkl:
            record = cache.load_stats(self.inception_pkl, self._identity, "moments")
            self._real_stats = _mu_sigma(record)
            self.needs_reals = False
            return
        if ctx.dataloader_cfg is None or ctx.cache_dir is None:
            return
        key = cache.cache_key(ctx.dataloader_cfg, self._identity, self.real_nums, "moments")
        self._cache_file = cache.cache_path(ctx.cache_dir, "fid", key)
        record = cache.try_load(self._cache_file, self._identity, "moments")
        if agree_on_all_ranks(record is not None):
            self._real_stats = _mu_sigma(record)
            self.needs_reals = False

    def process_real(self, images: torch.Tensor, indices: torch.Tensor) -> None:
        images, indices = keep_below(images, indices, self.real_nums)
        if indices.numel():
            self._real = RunningMoments.add_packed(self._real, self._features(images))

    def process_fake(self, images: torch.Tensor, indices: torch.Tensor) -> None:
        images, indices = keep_below(images, indices, self.fake_nums)
        if indices.numel():
            self._fake = RunningMoments.add_packed(self._fake, self._features(images))

    def compute(self) -> dict[str, float]:
        return self._fid()

    def _save_real(self, real: RunningMoments) -> None:
        if self._cache_file is not None and distributed.is_main_process():
            cache.save_stats(self._cache_file, self._identity, "moments",
                             {"count": torch.tensor(real.count), "sum": real.total, "outer": real.outer},
                             self.real_nums)


def _missing_local_file(path: str) -> bool:
    return "://" not in str(path) and not Path(path).expanduser().exists()


def _mu_sigma(record: dict) -> tuple[torch.Tensor, torch.Tensor]:
    if "mu" in record:
        return record["mu"].double(), record["sigma"].double()
    moments = RunningMoments(record["sum"].numel())
    moments.count = int(record["count"])
    moments.total.copy_(record["sum"])
    moments.outer.copy_(record["outer"])
    return moments.mean_cov()


def images_from(container: dict, key: str, what: str, metric: str) -> torch.Tensor:
    if key not in container:
        raise ConfigError(f"{metric} reads {what} images from key {key!r}, but the available keys are "
                          f"{sorted(container)}: set {what}_key=")
    return container[key].float()


def sample_indices(batch: dict, metric: str) -> torch.Tensor:
    if "sample_idx" not in batch:
        raise ConfigError(f"{metric}: batches carry no 'sample_idx'; the dataset must add each sample's index")
    return torch.as_tensor(batch["sample_idx"]).reshape(-1)


class TransFID(_FIDState, BaseMetric):
    """FID of an image-translation model: fakes are ``outputs[fake_key]`` of ``val_step``,
    reals ``batch[real_key]`` of the same batches."""

    default_prefix = "FID-Full"
    directions = {"fid": "lower", "mean": "lower", "cov": "lower"}
    uses_val_step = True

    def __init__(self, fake_nums: int | None = None, real_nums: int = -1, inception_style: str = "StyleGAN",
                 inception_path: str | None = None, inception_pkl: str | None = None,
                 fake_key: str = "fake_img", real_key: str = "img", need_cond_input: bool = False,
                 sample_model: str = "ema", prefix: str | None = None, feature_extractor=None,
                 convention: str = "official") -> None:
        super().__init__(prefix)
        if fake_nums is None or not isinstance(fake_nums, int) or fake_nums <= 0:
            raise ConfigError(f"metric TransFID needs fake_nums (a positive integer), got {fake_nums!r}")
        self.fake_nums, self.real_nums = fake_nums, real_nums
        self.fake_key, self.real_key = fake_key, real_key
        self.need_cond_input, self.sample_model = need_cond_input, sample_model
        self._init_fid(inception_style, inception_path, inception_pkl, feature_extractor, convention)

    def setup(self, ctx) -> None:
        self._setup_fid(ctx)
        if self.inception_pkl:
            self._real_stats = _mu_sigma(cache.load_stats(self.inception_pkl, self._identity, "moments"))

    def process(self, batch: dict, outputs: dict) -> None:
        indices = sample_indices(batch, "TransFID")
        fakes, fake_idx = keep_below(images_from(outputs, self.fake_key, "fake", "TransFID"), indices, self.fake_nums)
        if fake_idx.numel():
            self._fake = RunningMoments.add_packed(self._fake, self._features(fakes))
        if self._real_stats is None:
            reals, real_idx = keep_below(images_from(batch, self.real_key, "real", "TransFID"), indices,
                                         self.real_nums)
            if real_idx.numel():
                self._real = RunningMoments.add_packed(self._real, self._features(reals))

    def compute(self) -> dict[str, float]:
        return self._fid()
