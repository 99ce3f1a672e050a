"""Kernel Inception Distance (KID) — torchmetrics/torch-fidelity defaults."""
from __future__ import annotations

import torch

from mgx.core.errors import ConfigError

from ._common import check_extractor_arg, check_inception_style, inception_for_style
from .features_metric import FeatureSetMetric
from .functional.kid import kid_from_features


class KernelInceptionDistance(FeatureSetMetric):
    """Unbiased MMD² (cubic polynomial kernel) over ``subsets`` random subsets of ``subset_size``.

    Subsets are drawn from a generator seeded with ``seed`` (default: the
    evaluation seed), on features ordered by global index: the same value on 1 or N processes.
    """

    default_prefix = "KID"
    directions = {"kid_mean": "lower", "kid_std": None}
    cache_name = "kid"

    def __init__(self, fake_nums: int | None = None, real_nums: int = -1, subsets: int = 100,
                 subset_size: int = 1000, degree: int = 3, gamma: float | None = None, coef: float = 1.0,
                 inception_style: str = "StyleGAN", inception_path: str | None = None,
                 inception_pkl: str | None = None, fake_key: str | None = None, real_key: str = "gt_img",
                 need_cond_input: bool = False, sample_model: str = "orig", prefix: str | None = None,
                 feature_extractor=None, seed: int | None = None) -> None:
        super().__init__(fake_nums=fake_nums, real_nums=real_nums, real_key=real_key, fake_key=fake_key,
                         need_cond_input=need_cond_input, sample_model=sample_model, prefix=prefix)
        check_inception_style("KernelInceptionDistance", inception_style)
        check_extractor_arg("KernelInceptionDistance", feature_extractor)
        if isinstance(degree, bool) or not isinstance(degree, int) or degree < 1:
            raise ConfigError(f"KernelInceptionDistance: degree={degree!r}; the polynomial kernel's degree must be "
                              f"a positive integer (default 3)")
        if isinstance(subset_size, bool) or not isinstance(subset_size, int) or subset_size < 2:
            raise ConfigError(f"KernelInceptionDistance: subset_size={subset_size!r}; the unbiased MMD² needs "
                              f"subsets of at least 2 samples (default 1000)")
        if subset_size > fake_nums or (real_nums > 0 and subset_size > real_nums):
            raise ConfigError(f"KernelInceptionDistance: subset_size={subset_size} exceeds fake_nums={fake_nums} "
                              f"or real_nums={real_nums}; lower subset_size")
        self.subsets, self.subset_size, self.degree, self.gamma, self.coef = subsets, subset_size, degree, gamma, coef
        self.inception_style, self.inception_path, self.inception_pkl = inception_style, inception_path, inception_pkl
        self.feature_extractor, self.seed = feature_extractor, seed

    def result_keys(self) -> list[str]:
        return ["kid_mean", "kid_std"]

    def _make_extractor(self):
        return inception_for_style(self.feature_extractor, self.inception_style, self.inception_path)

    def _score(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
        generator = torch.Generator().manual_seed(self.ctx.seed if self.seed is None else self.seed)
        if min(real.shape[0], fake.shape[0]) < self.subset_size:
            raise ConfigError(f"KernelInceptionDistance: subset_size={self.subset_size} but only {real.shape[0]} "
                              f"real and {fake.shape[0]} fake images were evaluated; lower subset_size")
        mean, std = kid_from_features(real, fake, self.subsets, self.subset_size, self.degree, self.gamma,
                                      self.coef, generator)
        return {"kid_mean": mean, "kid_std": std}
