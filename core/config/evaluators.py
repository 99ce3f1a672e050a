"""The forms a ``val_evaluator``/``test_evaluator`` takes, read as MMagic 1.2 reads them.

MMagic's ``MultiValLoop``/``MultiTestLoop`` (and MMEngine's ``build_evaluator``) accept:

1. ``dict(type='Evaluator', metrics=[...])`` (``type`` may be left out): one evaluator;
2. one metric dict, ``dict(type='PSNR')``: one evaluator with that metric;
3. a list of metric dicts, ``[dict(type='PSNR'), dict(type='SSIM')]``: ONE evaluator
   with those metrics (none of them has ``metrics=``);
4. a list of evaluators, each as in 1. or a list of metric dicts as in 3.: one
   evaluator per dataloader.

``evaluator_entries`` turns any of them into :class:`EvaluatorEntry`s that keep the
config path of every metric, so messages name the key the user wrote.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EVALUATOR_TYPE = "Evaluator"


@dataclass
class EvaluatorEntry:
    field: str                                   # 'val_evaluator' or 'val_evaluator[1]'
    metrics: list = field(default_factory=list)  # the metric configs
    metric_paths: list[str] = field(default_factory=list)
    config: dict | None = None                   # the evaluator dict, when written as one (form 1)
    problem: str | None = None                   # why the entry is not an evaluator, if it is not


def _is_evaluator_dict(value: Any) -> bool:
    return isinstance(value, dict) and ("metrics" in value or value.get("type") == EVALUATOR_TYPE)


def _is_metric_list(value: Any) -> bool:
    return (isinstance(value, (list, tuple)) and len(value) > 0
            and all(isinstance(item, dict) and not _is_evaluator_dict(item) for item in value))


def _from_dict(value: dict, path: str) -> EvaluatorEntry:
    if value.get("type", EVALUATOR_TYPE) != EVALUATOR_TYPE:
        return EvaluatorEntry(path, config=value, problem=f"{path}.type must be 'Evaluator', got {value['type']!r}")
    unknown = sorted(set(value) - {"type", "metrics"})
    if unknown:
        return EvaluatorEntry(path, config=value, problem=f"{path} has unknown key(s) {unknown}; it takes metrics=[...]")
    metrics = value.get("metrics")
    if metrics is None:
        metrics = []
    if isinstance(metrics, dict):
        return EvaluatorEntry(path, [metrics], [f"{path}.metrics"], config=value)
    if not isinstance(metrics, (list, tuple)):
        return EvaluatorEntry(path, config=value, problem=f"{path}.metrics must be a list of metric configs, "
                                                          f"got {type(metrics).__name__}")
    return EvaluatorEntry(path, list(metrics), [f"{path}.metrics[{i}]" for i in range(len(metrics))], config=value)


def _from_metric_list(value: list | tuple, path: str) -> EvaluatorEntry:
    return EvaluatorEntry(path, list(value), [f"{path}[{i}]" for i in range(len(value))])


def evaluator_entries(value: Any, key: str) -> list[EvaluatorEntry]:
    """The evaluators ``value`` (the config's ``key``) describes, in dataloader order (see the module doc)."""
    if value is None or (isinstance(value, (list, tuple)) and not value):
        return []
    if _is_evaluator_dict(value):
        return [_from_dict(value, key)]
    if isinstance(value, dict):  # a single metric dict (form 2)
        return [EvaluatorEntry(key, [value], [key])]
    if _is_metric_list(value):  # one evaluator with several metrics (form 3)
        return [_from_metric_list(value, key)]
    if not isinstance(value, (list, tuple)):
        return [EvaluatorEntry(key, problem=f"{key} must be dict(type='Evaluator', metrics=[...]), a list of "
                                            f"metric dicts, or a list of evaluators; got {value!r}")]
    entries = []
    for index, item in enumerate(value):
        path = f"{key}[{index}]"
        if _is_evaluator_dict(item):
            entries.append(_from_dict(item, path))
        elif _is_metric_list(item):
            entries.append(_from_metric_list(item, path))
        else:
            # (a metric dict beside evaluators: MMagic refuses the mix as well)
            entries.append(EvaluatorEntry(path, problem=(
                f"{path} must be an evaluator, dict(type='Evaluator', metrics=[...]) or a list of metric "
                f"dicts, since other entries of {key} are evaluators; got {item!r}")))
    return entries


def as_evaluator_dicts(value: Any, key: str) -> list[dict]:
    """``value`` rewritten as a list of ``dict(type='Evaluator', metrics=[...])`` (the metric dicts shared)."""
    return [dict(entry.config or {}, type=(entry.config or {}).get("type", EVALUATOR_TYPE), metrics=entry.metrics)
            for entry in evaluator_entries(value, key) if entry.problem is None]


__all__ = ["EvaluatorEntry", "as_evaluator_dicts", "evaluator_entries"]
