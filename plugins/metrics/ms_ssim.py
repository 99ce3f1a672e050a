"""MS-SSIM between pairs of generated images (a diversity measure: lower = more diverse)."""
from __future__ import annotations

import torch

from mgx.core import distributed
from mgx.core.errors import ConfigError
from mgx.core.evaluation import GenerativeMetric

from ._common import check_convention, keep_below, mmagic_rounding
from .functional.ssim import ms_ssim


class MultiScaleStructureSimilarity(GenerativeMetric):
    """Mean MS-SSIM over the pairs (2j, 2j+1) of generated samples; fake_nums must be even.

    Pairs are formed by global sample index, so a pair split across two
    processes' shards is completed at ``compute`` time. ``convention='official'``
    multiplies the scales' terms per channel, then averages the channels
    (pytorch-msssim, piq); ``'mmagic'`` averages the channels at each scale
    first (MMagic 1.2.0 / ProGAN's numpy code) and rounds to 4 decimals.
    """

    default_prefix = "MS-SSIM"
    directions = {"avg": "lower"}  # similarity of generated pairs: lower = more diverse samples

    def __init__(self, fake_nums: int | None = None, fake_key: str | None = None, need_cond_input: bool = False,
                 sample_model: str = "ema", prefix: str | None = None, convention: str = "official") -> None:
        super().__init__(fake_nums=fake_nums, fake_key=fake_key, need_cond_input=need_cond_input,
                         sample_model=sample_model, prefix=prefix)
        self.convention = check_convention("MultiScaleStructureSimilarity", convention)
        if fake_nums % 2:
            raise ConfigError(f"MultiScaleStructureSimilarity compares pairs of images: fake_nums must be even, "
                              f"got {fake_nums}")

    def result_keys(self) -> list[str]:
        return ["avg"]

    def setup(self, ctx) -> None:
        self.add_sum_state("_sum", (2,))  # [Σ ms-ssim, pairs]
        self._waiting: dict[int, torch.Tensor] = {}  # index -> image whose partner has not arrived

    def _score_pairs(self, first: torch.Tensor, second: torch.Tensor) -> None:
        values = ms_ssim(first, second, data_range=255.0,
                         channel_mean_first=self.convention == "mmagic").cpu()
        self._sum += torch.tensor([float(values.sum()), float(values.numel())], dtype=torch.float64)

    def process_fake(self, images: torch.Tensor, indices: torch.Tensor) -> None:
        images, indices = keep_below(images, indices, self.fake_nums)
        firsts, seconds = [], []
        for image, index in zip(images, indices.tolist()):
            partner = index ^ 1
            if partner in self._waiting:
                other = self._waiting.pop(partner)
                pair = (other, image) if partner < index else (image, other)
                firsts.append(pair[0])
                seconds.append(pair[1])
            else:
                self._waiting[index] = image.detach()
        if firsts:
            self._score_pairs(torch.stack(firsts), torch.stack(seconds))

    def compute(self) -> dict[str, float]:
        # self._sum is synced; a pair split across two shards is scored here, the same on every rank
        leftovers = {}
        for part in distributed.all_gather_object({i: t.cpu() for i, t in self._waiting.items()}):
            leftovers.update(part)
        for index in sorted(i for i in leftovers if i % 2 == 0 and i + 1 in leftovers):
            self._score_pairs(leftovers[index][None].double(), leftovers[index + 1][None].double())
        total = self._sum
        if total[1] == 0:
            raise ConfigError("MultiScaleStructureSimilarity: no complete image pair was evaluated")
        return mmagic_rounding({"avg": float(total[0] / total[1])}, self.convention)
