"""Evaluation: the metric contract, the Evaluator, validation/test passes, metric directions.

Plugins import the contract from here (``from mgx.core.evaluation import GenerativeMetric``).
"""
from mgx.core.evaluation.metric import (BaseMetric, GenerativeMetric, MetricContext, metric_contract_problems,
                                        sample_seed, to_pixel_range)

__all__ = ["BaseMetric", "Evaluator", "GenerativeMetric", "IndexedRows", "MetricContext", "RowSlabs",
           "metric_contract_problems", "sample_seed", "to_pixel_range"]


def __getattr__(name: str):
    # Evaluator pulls in the engine (optim, progress); metric plugins should not pay for it at import
    if name == "Evaluator":
        from mgx.core.evaluation.evaluator import Evaluator
        return Evaluator
    if name in ("IndexedRows", "RowSlabs"):  # metric state storage (imports torch)
        from mgx.core.evaluation import metric_state
        return getattr(metric_state, name)
    raise AttributeError(name)
