"""Close an MLflow run its training left open: the process was killed after the final
checkpoint, while it was uploading checkpoints, logging the model or ending the run.

``--resume`` of such a training has nothing left to train; instead of leaving the run
RUNNING for ever, it does what the end of the training did not finish: uploads the
final and best checkpoints (per the run's checkpoint policy), logs the trained model
(unless the run records one already) and ends the run FINISHED.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

from mgx.core.engine.checkpoint import read_marker
from mgx.core.run.record import checkpoints_of_run

log = logging.getLogger("mgx")


def run_left_open(settings: Any, run_id: str | None) -> bool:
    """Whether the store holds ``run_id`` as RUNNING (False when unknown or unreachable)."""
    if not run_id or not settings.enabled:
        return False
    from mlflow import MlflowClient

    try:
        return MlflowClient(settings.resolve_uri()).get_run(run_id).info.status == "RUNNING"
    except Exception:  # noqa: BLE001 - an unreachable store: leave the run to `mgx sync`
        return False


def close_finished_training(tracker: Any, work_dir: Path, run_token: str | None, model_cfg: dict,
                            use_ema: Callable[[], bool], logger: Any) -> None:
    """Upload the final and best checkpoints of ``run_token`` in ``work_dir`` to ``tracker``'s
    run and log the model if the run has none yet; the caller then ends the run FINISHED."""
    from mgx.core.tracking.model_registry import LOGGED_MODEL_TAG, log_model_at_end

    last = read_marker(work_dir)
    last = last if last is not None and last.is_file() else None
    best = checkpoints_of_run(work_dir, run_token, "best_*.pth")[-1:] if run_token else []
    if last is not None:
        tracker.log_checkpoint(last, "last")
    for path in best:
        tracker.log_checkpoint(path, "best")
    tags = tracker.client.get_run(tracker.run_id).data.tags if tracker.client is not None else {}
    if LOGGED_MODEL_TAG not in tags:
        log_model_at_end(tracker, model_cfg, best[0] if best else last, use_ema(), logger)


__all__ = ["close_finished_training", "run_left_open"]
