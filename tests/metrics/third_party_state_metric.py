"""A metric written as a third-party plugin would, with no collective of its own: declared state only.

Its values depend on every sample and on their order (a weighted sum over the
index-ordered rows), so they match across process counts only when the base
class sums the state and orders the rows by sample index before ``compute``.
"""
from __future__ import annotations

import torch

from mgx.core.evaluation import GenerativeMetric
from mgx.core.hookspecs import hookimpl


class BrightnessProfile(GenerativeMetric):
    default_prefix = "Profile"
    needs_reals = True

    def __init__(self, fake_nums: int = 16, real_key: str = "gt_img", sample_model: str = "ema",
                 prefix: str | None = None) -> None:
        super().__init__(fake_nums=fake_nums, real_key=real_key, sample_model=sample_model, prefix=prefix)
        self.add_sum_state("real_sums", (2,))  # Σ brightness, count
        self.add_rows_state("fake_rows")  # per generated image: mean brightness, its channel spread

    def result_keys(self) -> list[str]:
        return ["real_mean", "fake_mean", "fake_ordered", "fakes"]

    def process_real(self, images, indices) -> None:
        self.real_sums += torch.stack([images.double().mean(dim=(1, 2, 3)).sum(),
                                       torch.tensor(float(images.shape[0]), dtype=torch.float64)])

    def process_fake(self, images, indices) -> None:
        per_channel = images.double().mean(dim=(2, 3))
        self.fake_rows.add(torch.stack([per_channel.mean(dim=1), per_channel.std(dim=1)], dim=1), indices)

    def compute(self) -> dict[str, float]:
        rows = self.fake_rows
        weights = torch.arange(1, rows.shape[0] + 1, dtype=torch.float64)
        return {"real_mean": float(self.real_sums[0] / self.real_sums[1]), "fake_mean": float(rows[:, 0].mean()),
                "fake_ordered": float((weights * rows[:, 0]).sum() + (weights.flip(0) * rows[:, 1]).sum()),
                "fakes": float(rows.shape[0])}


@hookimpl
def mgx_register_metrics(register):
    register(BrightnessProfile)
