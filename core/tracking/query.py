"""Reading runs back: lists, side-by-side comparison, metric curves.

Curves use the *effective* history of a metric: for every step, the value with
the latest timestamp. After a resume from step S, the steps the crashed session
logged past S are logged again by the resumed session; the later values win
(see docs/tracking.md, "Resume").
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from mgx.core.errors import ConfigError

def metric_direction(key: str, declared: dict | None = None) -> str | None:
    """"min" or "max": what the run's metrics declared (tag ``mgx.metric_directions``), else
    what the name says (FID: min, PSNR: max); None when neither tells."""
    from mgx.core.evaluation.direction import LOWER, direction_of

    direction = direction_of(key, declared)
    return None if direction is None else ("min" if direction == LOWER else "max")


def effective_history(history) -> list[tuple[int, float]]:
    """``[(step, value)]`` sorted by step, keeping the latest-timestamp value of each step."""
    latest: dict[int, tuple[int, float]] = {}
    for m in history:
        kept = latest.get(m.step)
        if kept is None or m.timestamp >= kept[0]:
            latest[m.step] = (m.timestamp, m.value)
    return [(step, latest[step][1]) for step in sorted(latest)]


@dataclass
class MetricSummary:
    final: float
    best: float | None
    direction: str | None
    best_step: int | None


def summarise(points: list[tuple[int, float]], key: str, declared: dict | None = None) -> MetricSummary:
    """Final value (at the last step) and the best value by the metric's direction."""
    direction = metric_direction(key, declared)
    finite = [(s, v) for s, v in points if not math.isnan(v)]
    best = best_step = None
    if direction and finite:
        pick = min if direction == "min" else max
        best_step, best = pick(finite, key=lambda sv: sv[1])
    return MetricSummary(points[-1][1], best, direction, best_step)


SHORT_ID_LENGTH = 8  # what `runs list` and `runs compare` print; any longer prefix works too


def short_id(run_id: str) -> str:
    return run_id[:SHORT_ID_LENGTH]


def resolve_runs(client, refs: Sequence[str], uri: str):
    """Run objects for ids, id prefixes (the short ids mgx prints) or unique run names;
    ConfigError naming any unknown or ambiguous one (see :func:`run_source.find_run`)."""
    from .run_source import find_run

    return [find_run(client, ref, uri) for ref in refs]


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Plain aligned text table."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)] if rows else [len(h) for h in header]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


def fmt_value(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.6g}"


def compare_text(client, runs, include_system: bool = False) -> tuple[str, dict[str, dict[str, list]]]:
    """Text of differing params and final/best metrics; also returns the effective curves.

    Columns are headed by the runs' short ids (a legend names them), and each metric takes a
    row for its final value and one for its best, so that two or three runs fit 80 columns."""
    from mgx.core.evaluation.direction import TRACKING_TAG, from_tag

    ids = [short_id(r.info.run_id) for r in runs]
    out = ["runs:", *[f"  {r.info.run_name or run_id} ({run_id})" for r, run_id in zip(runs, ids)], ""]
    declared = [from_tag(r.data.tags.get(TRACKING_TAG)) for r in runs]
    param_keys = sorted(set().union(*(r.data.params for r in runs)))
    differing = [k for k in param_keys if len({r.data.params.get(k) for r in runs}) > 1]
    if differing:
        out.append("params that differ:")
        out.append(format_table(["param", *ids],
                                [[k, *[_short(r.data.params.get(k, "-")) for r in runs]] for k in differing]))
    else:
        out.append(f"params: all {len(param_keys)} equal")
    out += _launch_lines(runs, ids)
    keys = sorted(k for k in set().union(*(r.data.metrics for r in runs))
                  if include_system or not k.startswith("system/"))
    curves: dict[str, dict[str, list]] = {}
    rows = []
    for key in keys:
        finals, summaries = [], []
        for r, run_declared in zip(runs, declared):
            points = effective_history(client.get_metric_history(r.info.run_id, key)) \
                if key in r.data.metrics else []
            curves.setdefault(key, {})[r.info.run_id] = points
            summary = summarise(points, key, run_declared) if points else None
            summaries.append(summary)
            finals.append(f"{fmt_value(summary.final)}@{points[-1][0]}" if summary else "-")
        rows.append([key, "final", *finals])
        directions = {s.direction for s in summaries if s is not None and s.best is not None}
        if directions:
            label = f"best({directions.pop()})" if len(directions) == 1 else "best"
            rows.append(["", label, *[_best_cell(s, label) for s in summaries]])
    out.append("")
    out.append("metrics (value@step; after a resume the latest value per step counts):" if rows else "metrics: none")
    if rows:
        out.append(format_table(["metric", "", *ids], rows))
    return "\n".join(out), curves


# How a run was launched (tags of core.tracking.run_info.default_tags): not config params, yet they
# change the result, e.g. a 2-process run has twice the global batch of a 1-process one.
LAUNCH_TAGS = (("world size", "mgx.world_size"), ("launcher", "mgx.launcher"), ("amp", "mgx.amp"),
               ("hosts", "mgx.hosts"))
BATCH_PARAM = "train_dataloader.batch_size"


def _launch_lines(runs, ids: list[str]) -> list[str]:
    """'launch that differs:' rows (world size, launcher, AMP, hosts), with the global batch
    (world size × per-process batch) when the world sizes differ; nothing when all agree."""
    rows = [[label, *[_short(r.data.tags.get(tag, "-"), 30) for r in runs]] for label, tag in LAUNCH_TAGS
            if len({r.data.tags.get(tag) for r in runs}) > 1]
    if rows and rows[0][0] == "world size":
        rows.insert(1, ["global batch", *[_global_batch(r) for r in runs]])
    return ["", "launch that differs:", format_table(["launch", *ids], rows)] if rows else []


def _global_batch(run) -> str:
    world, batch = run.data.tags.get("mgx.world_size"), run.data.params.get(BATCH_PARAM)
    if not (world and batch and world.isdigit() and batch.isdigit()):
        return "-"
    return f"{int(world) * int(batch)} ({world}×{batch})"


def _best_cell(summary: MetricSummary | None, label: str) -> str:
    if summary is None or summary.best is None:
        return "-"
    cell = f"{fmt_value(summary.best)}@{summary.best_step}"
    return cell if label != "best" else f"{cell} ({summary.direction})"  # runs disagree on the direction


def _short(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[: limit - 3] + "..."


def plot_curves(curves: dict[str, dict[str, list]], labels: dict[str, str], path: Path) -> Path:
    """One panel per metric, one line per run; saved as an image (png/pdf/svg by suffix)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k, per_run in curves.items() if any(per_run.values())]
    if not keys:
        raise ConfigError("the runs have no metrics to plot")
    cols = min(3, len(keys))
    rows = math.ceil(len(keys) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.4 * rows), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        for run_id, points in curves[key].items():
            if points:
                steps, values = zip(*points)
                ax.plot(steps, values, marker="." if len(points) < 30 else None, label=labels[run_id])
        ax.set_title(key)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    for ax in list(axes.flat)[len(keys):]:
        ax.set_visible(False)
    return save_figure(fig, path)


def save_figure(fig, path: Path) -> Path:
    """Lay out ``fig``, write it to ``path`` (format by suffix, folders made) and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
