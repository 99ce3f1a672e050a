"""Reading a sweep back: its children ranked by a metric, the metric against each swept param.

The parent run (made by ``mgx sweep``) holds the swept keys in param ``sweep.keys``;
each child holds its values as ordinary config params and its point in tag
``mgx.sweep.point``. A point tried more than once (a failed attempt, then a rerun)
is shown by its FINISHED run, else its latest one.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from mgx.core.errors import ConfigError

POINT_TAG = "mgx.sweep.point"


@dataclass
class SweepRow:
    point: int
    run: object
    values: dict[str, str]
    metric: float | None


def _direction(key: str, runs) -> str | None:
    """"min"/"max" for ``key``: as the children's metrics declared it (tag
    ``mgx.metric_directions``, see :mod:`mgx.core.evaluation.direction`), else by its name."""
    from mgx.core.evaluation.direction import TRACKING_TAG, from_tag
    from mgx.core.tracking.query import metric_direction

    declared: dict = {}
    for run in runs:
        declared.update(from_tag(run.data.tags.get(TRACKING_TAG)))
    return metric_direction(key, declared)


def swept_keys(parent) -> list[str]:
    keys = parent.data.params.get("sweep.keys")
    if keys is None:
        raise ConfigError(f"run {parent.info.run_name or parent.info.run_id} is not a sweep's parent run "
                          "(it has no param sweep.keys); give the run `mgx sweep` printed")
    return [k for k in keys.split(",") if k]


def latest_children(client, parent) -> list:
    """One child run per point: its FINISHED run, else its latest attempt."""
    from mgx.core.run.sweep import child_runs

    chosen: dict[int, object] = {}
    for run in child_runs(client, parent.info.run_id, parent.info.experiment_id):
        point = run.data.tags.get(POINT_TAG, "")
        if not point.isdigit():
            continue
        rank = (run.info.status == "FINISHED", run.info.start_time or 0)
        kept = chosen.get(int(point))
        if kept is None or rank > (kept.info.status == "FINISHED", kept.info.start_time or 0):
            chosen[int(point)] = run
    return [chosen[p] for p in sorted(chosen)]


def default_metric(children) -> str:
    """The config's ``save_best`` key when every child logged it, else the first metric every
    child has whose better direction is known (validation metrics before losses)."""
    common = set.intersection(*(set(r.data.metrics) for r in children)) if children else set()
    save_best = children[0].data.params.get("default_hooks.checkpoint.save_best") if children else None
    if save_best in common:
        return save_best
    candidates = sorted(k for k in common if not k.startswith(("system/", "lr/", "train/")))
    known = [k for k in candidates if _direction(k, children)]
    if not known:
        raise ConfigError("no metric with a known direction is common to the sweep's runs; pass --metric KEY "
                          f"(they have: {', '.join(sorted(common)) or 'none'})")
    return known[0]


def rank_children(client, parent, metric: str | None) -> tuple[str, str | None, list[str], list[SweepRow]]:
    """(metric, direction, swept keys, rows best first; runs without the metric last)."""
    keys = swept_keys(parent)
    children = latest_children(client, parent)
    if not children:
        raise ConfigError(f"sweep {parent.info.run_name} has no child runs yet")
    metric = metric or default_metric(children)
    if not any(metric in r.data.metrics for r in children):
        known = sorted(set().union(*(r.data.metrics for r in children)))
        raise ConfigError(f"no child of sweep {parent.info.run_name} logged metric {metric!r}; "
                          f"they logged: {', '.join(known)}")
    direction = _direction(metric, children)
    rows = [SweepRow(int(r.data.tags[POINT_TAG]), r, {k: r.data.params.get(k, "-") for k in keys},
                     r.data.metrics.get(metric)) for r in children]
    sign = -1 if direction == "max" else 1

    def order(row: SweepRow):
        missing = row.metric is None or math.isnan(row.metric)
        return (missing, 0.0 if missing else sign * row.metric, row.point)
    return metric, direction, keys, sorted(rows, key=order)


def ranking_text(parent, metric: str, direction: str | None, keys: list[str], rows: list[SweepRow]) -> str:
    from mgx.core.tracking.query import fmt_value, format_table

    better = {"min": "lower is better", "max": "higher is better"}.get(direction, "direction unknown: as logged")
    header = ["RANK", "POINT", "RUN", "STATUS", *keys, metric]
    table = [[str(i + 1), str(row.point), f"{row.run.info.run_name} ({row.run.info.run_id[:8]})",
              row.run.info.status, *[row.values[k] for k in keys], fmt_value(row.metric)]
             for i, row in enumerate(rows)]
    title = (f"sweep {parent.info.run_name} ({parent.info.run_id[:8]}, {parent.info.status}): {len(rows)} point(s) "
             f"ranked by {metric} (last logged value, {better})")
    return title + "\n" + format_table(header, table)


def _as_number(text: str) -> float | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def plot_against_params(metric: str, keys: list[str], rows: list[SweepRow], path: Path) -> Path:
    """One panel per swept key: the metric of each point against that key's value (a log
    axis for positive numbers spanning 100x or more, categories for non-numbers)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mgx.core.tracking.query import save_figure

    rows = [row for row in rows if row.metric is not None and not math.isnan(row.metric)]
    if not rows:
        raise ConfigError(f"no child run has a value of {metric} to plot")
    fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.6), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        numbers = [_as_number(row.values[key]) for row in rows]
        if all(n is not None for n in numbers):
            ax.scatter(numbers, [row.metric for row in rows])
            positive = [n for n in numbers if n > 0]
            if len(positive) == len(numbers) and max(positive) / min(positive) >= 100:
                ax.set_xscale("log")
        else:
            labels = sorted({row.values[key] for row in rows})
            ax.scatter([labels.index(row.values[key]) for row in rows], [row.metric for row in rows])
            ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
        ax.set_xlabel(key)
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
    return save_figure(fig, path)
