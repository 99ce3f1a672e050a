"""Improved Precision and Recall (PR) on VGG16 features."""
from __future__ import annotations

import logging

import torch

from mgx.core.errors import ConfigError, MgxError

from ._common import build_extractor, check_convention, check_extractor_arg, mmagic_pixels
from .features_metric import FeatureSetMetric
from .functional.precision_recall import knn_radii, precision_recall

_MAX_BLOCK = 2048


class PrecisionAndRecall(FeatureSetMetric):
    """Fraction of fakes inside the real k-NN manifold (precision) and of reals inside the fake one (recall).

    Extractor: ``feature_extractor`` if given, else NVIDIA's VGG16 TorchScript
    (``vgg16_script`` or ``$MGX_VGG16_SCRIPT_PATH`` or the cache), else
    torchvision's VGG16 fc2 (with a warning: values differ from StyleGAN's).
    ``vgg16_pkl`` names a precomputed real-features file.

    ``convention='official'`` (Kynkäänniemi et al.'s definition): k-NN radii as
    computed, the first ``real_nums`` reals by sample index. ``'mmagic'``
    (MMagic 1.2.0): radii rounded to float16 (as StyleGAN2-ADA does too), and
    ``real_nums`` reals drawn at random with replacement from all real
    features (here from a generator seeded by the evaluation seed), pixels
    truncated to uint8 for NVIDIA's VGG16 where it rounds them, and MMagic's
    preprocessing for the torchvision fallback.
    """

    default_prefix = "PR"
    directions = {"precision": "higher", "recall": "higher"}
    cache_name = "pr"
    precomputed_arg = "vgg16_pkl"

    def __init__(self, fake_nums: int | None = None, real_nums: int = -1, k: int = 3, sample_model: str = "ema",
                 vgg16_script: str | None = None, vgg16_pkl: str | None = None, row_batch_size: int = 10000,
                 col_batch_size: int = 10000, fake_key: str | None = None, real_key: str = "gt_img",
                 need_cond_input: bool = False, prefix: str | None = None, feature_extractor=None,
                 convention: str = "official") -> None:
        super().__init__(fake_nums=fake_nums, real_nums=real_nums, real_key=real_key, fake_key=fake_key,
                         need_cond_input=need_cond_input, sample_model=sample_model, prefix=prefix)
        check_extractor_arg("PrecisionAndRecall", feature_extractor)
        if not isinstance(k, int) or k < 1:
            raise ConfigError(f"PrecisionAndRecall: k must be a positive integer, got {k!r}")
        self.convention = check_convention("PrecisionAndRecall", convention)
        # MMagic extracts every real image, then draws real_nums of them with replacement.
        self.real_draws = real_nums if convention == "mmagic" and real_nums > 0 else None
        if self.real_draws is not None:
            self.real_nums = -1
        self.k, self.vgg16_script, self.vgg16_pkl = k, vgg16_script, vgg16_pkl
        self.row_batch_size, self.col_batch_size = row_batch_size, col_batch_size
        self.feature_extractor = feature_extractor

    def result_keys(self) -> list[str]:
        return ["precision", "recall"]

    def _make_extractor(self):
        return mmagic_pixels(self._vgg16(), self.convention)

    def _vgg16(self):
        if self.feature_extractor is not None or self.vgg16_script:
            return build_extractor(self.feature_extractor, "NvidiaVGG16", vgg16_script=self.vgg16_script)
        try:
            return build_extractor(None, "NvidiaVGG16")
        except MgxError as script_error:
            try:
                # MMagic's fallback feeds torchvision's VGG16 differently (see TorchvisionVGG16Features)
                extractor = build_extractor(None, "TorchvisionVGG16Features",
                                            preprocessing="mmagic" if self.convention == "mmagic" else None)
            except MgxError as fallback_error:
                raise MgxError(f"PrecisionAndRecall needs VGG16 weights. {script_error} "
                               f"Fallback also failed: {fallback_error}") from fallback_error
            logging.getLogger("mgx").warning("PrecisionAndRecall: NVIDIA vgg16.pt unavailable, using torchvision VGG16 "
                                     "fc2 features (values are not comparable with StyleGAN's)")
            return extractor

    def _score(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
        # MMagic's batch sizes cap the distance blocks; blocks above 2048 rows only cost memory.
        block = min(self.row_batch_size, self.col_batch_size, _MAX_BLOCK)
        real_radii = fake_radii = None
        if self.convention == "mmagic":
            if self.real_draws is not None:
                generator = torch.Generator().manual_seed(self.ctx.seed)
                real = real[torch.randint(0, real.shape[0], (self.real_draws,), generator=generator).to(real.device)]
            real_radii = knn_radii(real.float(), self.k, block).half().float()
            fake_radii = knn_radii(fake.float(), self.k, block).half().float()
        precision, recall = precision_recall(real, fake, self.k, block, block, real_radii, fake_radii)
        return {"precision": precision, "recall": recall}
