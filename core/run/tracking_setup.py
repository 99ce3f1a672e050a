"""The run's MLflow side as the runner opens it: settings from flags and config, the
tracking URI checked before any set-up, the run started with mgx's tags (rank 0 only),
and the metric directions recorded for `mgx runs compare`."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mgx.core.config.loader import Config, to_plain

if TYPE_CHECKING:
    from mgx.core.run.runner import RunOptions


def tracking_settings(cfg: Config, options: RunOptions) -> Any:
    from mgx.core.tracking import TrackingSettings

    config_layer = {"tracking_uri": cfg.get("tracking_uri"), **dict(cfg.get("tracking") or {})}
    return TrackingSettings.from_layers(options.tracking, config_layer)


def record_directions(tracker: Any, directions: dict) -> None:
    """The run remembers which way each of its metrics is better (for `mgx runs compare`)."""
    if tracker is not None and directions:
        from mgx.core.evaluation.direction import TRACKING_TAG, to_tag

        tracker.set_tags({TRACKING_TAG: to_tag(directions)})


def check_tracking_uri(cfg: Config, options: RunOptions) -> None:
    """A tracking URI (flag, config or MLFLOW_TRACKING_URI) MLflow cannot open fails before any set-up."""
    settings = tracking_settings(cfg, options)
    if settings.enabled:
        settings.resolve_uri()


def start_tracker(cfg: Config, options: RunOptions, setup: Any, plugins: Any, resume_run_id: str | None,
                  resume_step: int | None, config_text: str, mode: str, hosts: list[str] | None = None,
                  on_run_opened: Any = None) -> Any:
    """The run's Tracker (None on other ranks or with tracking off); ``setup`` gives rank,
    world size and work dir."""
    if setup.rank != 0:
        return None
    from mgx.core.tracking import Tracker, default_tags, flatten_config

    settings = tracking_settings(cfg, options)
    if not settings.enabled:
        return None
    plugin_versions = {info.distribution if not info.builtin else info.name: info.version
                       for info in plugins.plugins.values()} if plugins is not None else None
    tags = default_tags(config_file=options.config_path, launcher=options.launcher, world_size=setup.world_size,
                        hosts=hosts, plugins=plugin_versions)
    tags["mgx.mode"] = mode
    tags.update(options.run_tags)
    return Tracker.start(settings, setup.work_dir, run_id_to_resume=resume_run_id,
                         config_flat=flatten_config(to_plain(cfg)), tags=tags, resume_step=resume_step,
                         config_file=options.config_path, resolved_config_text=config_text, mode=mode,
                         on_run_opened=on_run_opened)
