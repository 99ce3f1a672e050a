"""The run's MLflow side as the runner opens it: the run started with mgx's tags (rank 0
only) and the metric directions recorded for `mgx runs compare`. Which store, experiment
and run name: ``RunSettings.tracking`` (core/run/settings.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from mgx.core.config.loader import Config, to_plain
from mgx.core.run.settings import RunSettings


def record_directions(tracker: Any, directions: dict) -> None:
    """The run remembers which way each of its metrics is better (for `mgx runs compare`)."""
    if tracker is not None and directions:
        from mgx.core.evaluation.direction import TRACKING_TAG, to_tag

        tracker.set_tags({TRACKING_TAG: to_tag(directions)})


def start_tracker(cfg: Config, settings: RunSettings, world_size: int, work_dir: Path, plugins: Any,
                  resume_run_id: str | None, resume_step: int | None, config_text: str, mode: str,
                  hosts: list[str] | None = None, on_run_opened: Any = None) -> Any:
    """The run's Tracker, or None with tracking off (call on rank 0 only)."""
    from mgx.core.tracking import Tracker, default_tags, flatten_config

    if not settings.tracking.enabled:
        return None
    plugin_versions = {info.distribution if not info.builtin else info.name: info.version
                       for info in plugins.plugins.values()} if plugins is not None else None
    tags = default_tags(config_file=settings.config_path, launcher=settings.launcher, world_size=world_size,
                        amp=settings.amp, hosts=hosts, plugins=plugin_versions)
    tags["mgx.mode"] = mode
    tags.update(settings.run_tags)
    return Tracker.start(settings.tracking, work_dir, run_id_to_resume=resume_run_id,
                         config_flat=flatten_config(to_plain(cfg)), tags=tags, resume_step=resume_step,
                         config_file=settings.config_path, resolved_config_text=config_text, mode=mode,
                         on_run_opened=on_run_opened)
