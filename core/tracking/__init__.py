"""MLflow tracking for mgx runs: the embedded store, a non-blocking Tracker, spool and replay.

Importing this package does not import MLflow; the store is touched only when a
Tracker starts. See docs/tracking.md.
"""
from mgx.core.tracking.replay import ReplayReport, find_spool_dirs, replay_spool_dir
from mgx.core.tracking.run_info import clean_params, default_tags, flatten_config, pip_freeze_text
from mgx.core.tracking.settings import (
    CHECKPOINT_POLICIES,
    DEFAULT_CHECKPOINT_POLICY,
    TrackingSettings,
    configure_http_env,
)
from mgx.core.tracking.spool import SPOOL_DIR_NAME, spool_dir
from mgx.core.tracking.store import init_workspace, workspace_uri
from mgx.core.tracking.tracker import Tracker

__all__ = [
    "CHECKPOINT_POLICIES",
    "DEFAULT_CHECKPOINT_POLICY",
    "ReplayReport",
    "SPOOL_DIR_NAME",
    "Tracker",
    "TrackingSettings",
    "clean_params",
    "configure_http_env",
    "default_tags",
    "find_spool_dirs",
    "flatten_config",
    "init_workspace",
    "pip_freeze_text",
    "replay_spool_dir",
    "spool_dir",
    "workspace_uri",
]
