"""Metric state declared once (BaseMetric.add_sum_state / add_rows_state), reset before setup and synced
by the base class before compute; the built-in metrics reduce by hand only where that keeps memory bounded."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from mgx.core.errors import MgxError
from mgx.core.evaluation import BaseMetric

METRICS = Path(__file__).resolve().parents[2] / "plugins" / "metrics"
# each reduces without holding every process's rows: split sums, spooled projections,
# the images of pairs split across shards, the agreement on a cache hit
HAND_REDUCED = {"inception_score.py": 3, "swd.py": 5, "ms_ssim.py": 1, "_common.py": 1}
COLLECTIVE = re.compile(r"\bdistributed\.(all_reduce_sum|all_gather_object|broadcast_object)\(")


class Counting(BaseMetric):
    uses_val_step = True

    def __init__(self) -> None:
        super().__init__()
        self.add_sum_state("total", (2,))
        self.add_rows_state("rows")

    def process(self, batch, outputs) -> None:
        self.total += torch.tensor([float(batch["x"].sum()), float(batch["x"].numel())], dtype=torch.float64)
        self.rows.add(batch["x"][:, None], batch["sample_idx"])

    def compute(self) -> dict[str, float]:
        return {"mean": float(self.total[0] / self.total[1]), "first": float(self.rows[0, 0])}


def test_state_is_fresh_at_each_evaluation_and_synced_before_compute() -> None:
    metric = Counting()
    for _ in range(2):  # a second evaluation starts from zero again
        metric.reset_states()
        metric.process({"x": torch.tensor([5.0, 7.0]), "sample_idx": torch.tensor([3, 1])}, {})
        metric.process({"x": torch.tensor([2.0]), "sample_idx": torch.tensor([0])}, {})
        metric.sync_states()
        assert metric.compute() == {"mean": pytest.approx(14 / 3), "first": 2.0}
        assert torch.equal(metric.rows[:, 0], torch.tensor([2.0, 7.0, 5.0]))  # ordered by sample index
    metric.reset_states()
    metric.sync_states()
    assert metric.rows is None and torch.equal(metric.total, torch.zeros(2, dtype=torch.float64))


def test_a_sum_state_of_unknown_shape_is_sized_by_its_first_addition() -> None:
    metric = Counting()
    metric.add_sum_state("moments", shape=None)
    metric.sync_states()
    assert metric.moments is None  # nothing added anywhere
    metric.reset_states()
    assert metric.moments is None
    metric.moments = torch.ones(3, dtype=torch.float64)
    metric.moments += 1
    metric.sync_states()
    assert torch.equal(metric.moments, torch.full((3,), 2.0, dtype=torch.float64))


def test_a_sum_state_replaced_by_another_type_is_named() -> None:
    metric = Counting()
    metric.total = metric.total.float()
    with pytest.raises(MgxError, match=r"Counting\.total is a sum state: keep it a float64 tensor"):
        metric.sync_states()


def test_built_in_metrics_reduce_by_hand_only_where_memory_needs_it() -> None:
    found = {path.name: len(COLLECTIVE.findall(path.read_text(encoding="utf-8")))
             for path in sorted(METRICS.rglob("*.py"))}
    assert {name: count for name, count in found.items() if count} == HAND_REDUCED
