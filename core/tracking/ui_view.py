"""The MLflow UI page `mgx ui` opens: an experiment's runs table with the metrics and the params
that tell its runs apart as columns, sorted by the best-checkpoint metric, in the model-training view.

MLflow's UI (3.x) restores a runs-page layout from an experiment tag
``mlflow.sharedViewState.<key>`` (its "Share" button writes one) when the page's URL carries
``viewStateShareKey=<key>``. The tag's value is JSON: the search facets (``orderByKey``,
``orderByAsc``, ...) and the table state (``selectedColumns`` as ``metrics.`KEY``` /
``params.`KEY```). The URL must not carry a search facet itself, or the UI ignores the tag.
``workflowType=machine_learning`` picks the model-training side bar instead of the GenAI one.
"""
from __future__ import annotations

import json
from typing import Any

SHARED_VIEW_TAG_PREFIX = "mlflow.sharedViewState."
VIEW_KEY = "mgx-runs"
PARENT_RUN_TAG = "mlflow.parentRunId"
TRAINING_VIEW_QUERY = "workflowType=machine_learning"
BEST_METRIC_PARAM = "default_hooks.checkpoint.save_best"  # the config's save_best, as a run param
MAX_METRIC_COLUMNS = 6
MAX_PARAM_COLUMNS = 6
ALWAYS_SHOWN_PARAMS = ("model.type",)
# Logged every interval but not what a reader compares runs by.
_NOT_COMPARED_PREFIXES = ("train/", "system/", "lr", "time", "data_time", "memory")


def runs_page_url(base: str, experiment_id: str) -> str:
    """The runs page of an experiment, laid out by the view :func:`publish_runs_view` stored."""
    return f"{base}/#/experiments/{experiment_id}/runs?{TRAINING_VIEW_QUERY}&viewStateShareKey={VIEW_KEY}"


def run_page_url(base: str, experiment_id: str, run_id: str) -> str:
    return f"{base}/#/experiments/{experiment_id}/runs/{run_id}?{TRAINING_VIEW_QUERY}"


def compare_page_url(base: str, experiment_id: str, run_ids: list[str]) -> str:
    from urllib.parse import quote

    runs, experiments = quote(json.dumps(run_ids)), quote(json.dumps([experiment_id]))
    return f"{base}/#/compare-runs?runs={runs}&experiments={experiments}&{TRAINING_VIEW_QUERY}"


def best_metric(runs: list[Any], metric_keys: list[str]) -> str | None:
    """The metric the runs' checkpoints were chosen by (``save_best``), else their first validation metric."""
    for run in runs:
        chosen = run.data.params.get(BEST_METRIC_PARAM)
        if chosen in metric_keys:
            return chosen
    return metric_keys[0] if metric_keys else None


def compared_metrics(runs: list[Any]) -> list[str]:
    """Validation/test metric keys of the runs (not losses, learning rates or system metrics)."""
    keys = {key for run in runs for key in run.data.metrics}
    return sorted(key for key in keys if not key.startswith(_NOT_COMPARED_PREFIXES))


def differing_params(runs: list[Any]) -> list[str]:
    """``model.type`` and the params whose values differ between runs (the shortest keys first)."""
    with_params = [run for run in runs if run.data.params]  # a sweep's parent run logs none
    keys = {key for run in with_params for key in run.data.params}
    differing = [key for key in keys if len({run.data.params.get(key) for run in with_params}) > 1]
    shown = [key for key in ALWAYS_SHOWN_PARAMS if key in keys]
    return shown + sorted(differing, key=lambda key: (key.count("."), key))[:MAX_PARAM_COLUMNS - len(shown)]


def runs_view_state(runs: list[Any]) -> dict[str, Any]:
    """The runs page's layout for these runs (what MLflow's shared view state holds); not sorted
    when some runs are nested (a sweep's points), so that they stay folded in their parent."""
    from mgx.core.evaluation.direction import LOWER, TRACKING_TAG, direction_of, from_tag

    metrics = compared_metrics(runs)
    best = best_metric(runs, metrics)
    shown_metrics = ([best] if best else []) + [key for key in metrics if key != best][:MAX_METRIC_COLUMNS - 1]
    columns = [f"metrics.`{key}`" for key in shown_metrics] + [f"params.`{key}`" for key in differing_params(runs)]
    state: dict[str, Any] = {"selectedColumns": columns}
    # Sorted by a metric, MLflow lists a sweep's point runs flat instead of folded in their parent.
    nested = any(PARENT_RUN_TAG in run.data.tags for run in runs)
    if best is not None and not nested:
        declared = next((from_tag(run.data.tags.get(TRACKING_TAG)) for run in runs
                         if run.data.tags.get(TRACKING_TAG)), {})
        state.update(orderByKey=f"metrics.`{best}`", orderByAsc=direction_of(best, declared) == LOWER)
    return state


def publish_runs_view(client: Any, experiment_id: str, max_runs: int = 200) -> dict[str, Any]:
    """Store the runs page's layout on the experiment (tag ``mlflow.sharedViewState.mgx-runs``);
    rewritten on each call, so it follows the metrics the runs log."""
    runs = client.search_runs([experiment_id], max_results=max_runs)
    state = runs_view_state(list(runs))
    client.set_experiment_tag(experiment_id, SHARED_VIEW_TAG_PREFIX + VIEW_KEY, json.dumps(state))
    return state


def run_announcement(tracker: Any) -> list[str]:
    """What a finished training or test prints about its MLflow run: the id, and with a tracking
    server the run's page (an embedded store has no page until `mgx ui` serves it)."""
    lines = [f"MLflow run {tracker.run_id}"]
    uri = tracker.tracking_uri or ""
    if uri.startswith(("http://", "https://")) and tracker.experiment_id and not tracker.store_offline:
        lines.append(f"  {run_page_url(uri.rstrip('/'), tracker.experiment_id, tracker.run_id)}")
    elif uri.startswith("sqlite:"):
        lines.append("  (`mgx ui` serves its page)")
    return lines
