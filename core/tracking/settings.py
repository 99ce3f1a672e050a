"""What a run's tracking is told: store, experiment, run name, policies.

Precedence for every field (documented in docs/tracking.md):
command-line flag > config file > environment (``MLFLOW_TRACKING_URI``) > embedded
workspace store. The engine builds one layer from the flags and one from the
config and calls :meth:`TrackingSettings.from_layers`.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

from mgx.core.errors import ConfigError

#: Which checkpoints ``Tracker.log_checkpoint`` uploads, by kind ("best", "last", "periodic").
CHECKPOINT_POLICIES: dict[str, frozenset[str]] = {
    "none": frozenset(),
    "best": frozenset({"best"}),
    "last": frozenset({"last"}),
    "best+last": frozenset({"best", "last"}),
    "all": frozenset({"best", "last", "periodic"}),
}
DEFAULT_CHECKPOINT_POLICY = "best+last"

# Bounded HTTP behaviour for MLflow's REST client. MLflow's own defaults (7 retries,
# backoff factor 2, 120 s timeout) make a dead server hold a call for ~4 minutes.
HTTP_ENV_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.5",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}


def configure_http_env() -> dict[str, str]:
    """Give MLflow's HTTP client bounded retries/timeouts for this process.

    A value the user already exported wins (``os.environ.setdefault``). Returns the
    values in effect.
    """
    for name, value in HTTP_ENV_DEFAULTS.items():
        os.environ.setdefault(name, value)
    return {name: os.environ[name] for name in HTTP_ENV_DEFAULTS}


@dataclass
class TrackingSettings:
    """Tracking options of one run (rank 0 uses them; other ranks ignore them).

    tracking_uri: explicit store (flag or config); ``None`` -> ``MLFLOW_TRACKING_URI``
        -> the embedded SQLite store of ``workspace``.
    experiment: experiment name; ``None`` -> MLflow's "Default" experiment.
    run_name: the run's display name (tag ``mlflow.runName``); ``None``: config stem + random part.
    enabled: ``False`` (``--no-track``) makes every Tracker method a no-op.
    log_checkpoints: one of ``CHECKPOINT_POLICIES`` (default ``"best+last"``).
    system_metrics: sample CPU/memory/disk/network with psutil into ``system/*`` metrics.
    flush_timeout_s: the most ``finish()`` waits for the store before spooling what is left.
    store_wait_s: the most a checkpoint waits for the store to take the values logged so far
        (then they are spooled and the run goes on offline), and what ``finish()`` waits
        instead of ``flush_timeout_s`` once the store is known not to answer.
    workspace: folder of the embedded store; ``None`` -> ``MGX_WORKSPACE`` or the cwd.
    flush_interval_s: the longest a logged value waits in memory before it is written.
    offline_retry_s: while the store is unreachable, how often the writer tries it again.
    system_metrics_interval_s: sampling period of system metrics.
    retry_delays_s: pauses between the writer's tries of one store call (after MLflow's
        own HTTP retries); when they are used up the records are spooled.
    freeze_gc: call ``gc.freeze()`` once the run is open, so Python's full garbage
        collections stop scanning the ~270k long-lived objects of MLflow/torch/...;
        without it a gen-2 collection, triggered by whichever thread allocates (the
        writer too), stalled the training thread for 0.75-0.9 s (measured).
    batch_process: with a ``sqlite:`` store, run the writer's ``log_batch`` calls in a
        helper process (see ``mgx.core.tracking.batch_process``), so MLflow's SQLAlchemy
        work never takes the GIL from the training thread. ``"auto"`` (default): where
        the helper finds a core of its own - 4 or more cores, or torch's threads
        (``torch.set_num_threads``, ``OMP_NUM_THREADS``) times the processes on this node
        fewer than the cores; on 2 cores that torch's threads use, it would take CPU from
        them instead (measured), so the writes stay on a thread there.
    log_model: at the end of a finished training, log the best checkpoint's network (EMA
        weights when the config evaluates ``sample_model='ema'``) as an MLflow model of the run
        (see ``mgx.core.tracking.model_registry``).
    register_model: also register that model as a new version of this registered-model name.
    """

    tracking_uri: str | None = None
    experiment: str | None = None
    run_name: str | None = None
    enabled: bool = True
    log_checkpoints: str = DEFAULT_CHECKPOINT_POLICY
    system_metrics: bool = False
    flush_timeout_s: float = 30.0
    store_wait_s: float = 2.0
    workspace: Path | None = None
    flush_interval_s: float = 1.0
    offline_retry_s: float = 30.0
    system_metrics_interval_s: float = 10.0
    retry_delays_s: tuple[float, ...] = (1.0, 2.0)
    freeze_gc: bool = True
    batch_process: bool | str = "auto"
    log_model: bool = True
    register_model: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    def writes_in_helper_process(self, uri: str) -> bool:
        """Whether the writer's batches for the store ``uri`` go through the helper process."""
        if not uri.startswith("sqlite:"):
            return False
        if self.batch_process == "auto":
            cores = os.cpu_count() or 1
            if cores >= 4:
                return True
            torch = sys.modules.get("torch")  # never imported for this
            if torch is None:
                return False
            busy = torch.get_num_threads() * int(os.environ.get("LOCAL_WORLD_SIZE", "1"))  # torchrun sets it
            return busy < cores
        return bool(self.batch_process)

    def __post_init__(self) -> None:
        if self.log_checkpoints not in CHECKPOINT_POLICIES:
            raise ConfigError(
                f"tracking setting log_checkpoints={self.log_checkpoints!r} is not one of "
                f"{', '.join(sorted(CHECKPOINT_POLICIES))}"
            )
        if self.batch_process not in (True, False, "auto"):
            raise ConfigError(f"tracking setting batch_process={self.batch_process!r} must be True, False or 'auto'")
        for name in ("flush_timeout_s", "store_wait_s", "flush_interval_s", "offline_retry_s",
                     "system_metrics_interval_s"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(f"tracking setting {name}={value!r} must be a positive number of seconds")
        self.retry_delays_s = tuple(float(d) for d in self.retry_delays_s)
        if self.tracking_uri is not None and not str(self.tracking_uri).strip():
            self.tracking_uri = None
        if self.workspace is not None:
            self.workspace = Path(self.workspace)
        if self.register_model is not None:
            from mgx.core.tracking.model_registry import check_registry_name

            check_registry_name(self.register_model)

    @classmethod
    def from_layers(cls, *layers: Mapping[str, Any] | None) -> "TrackingSettings":
        """Merge option layers, highest precedence first (flags, then config).

        A key missing from a layer or set to ``None`` falls through to the next
        layer, then to the dataclass default. Unknown keys raise ConfigError.
        """
        known = {f.name for f in fields(cls)} - {"extra"}
        merged: dict[str, Any] = {}
        for layer in layers:
            for key, value in (layer or {}).items():
                if key not in known:
                    raise ConfigError(
                        f"unknown tracking setting {key!r}; accepted: {', '.join(sorted(known))}"
                    )
                if value is not None and key not in merged:
                    merged[key] = value
        return cls(**merged)

    def resolve_workspace(self) -> Path:
        """The folder holding the embedded store (``workspace`` > ``MGX_WORKSPACE`` > cwd)."""
        if self.workspace is not None:
            return Path(self.workspace).expanduser().resolve()
        env = os.environ.get("MGX_WORKSPACE")
        return Path(env).expanduser().resolve() if env else Path.cwd().resolve()

    def resolve_uri(self) -> str:
        """The store this run logs to: flag/config > ``MLFLOW_TRACKING_URI`` > embedded."""
        from mgx.core.tracking.store import workspace_uri

        if self.tracking_uri:
            return check_uri_scheme(normalise_uri(self.tracking_uri), "--tracking-uri / tracking_uri")
        env = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
        if env:
            return check_uri_scheme(normalise_uri(env), "MLFLOW_TRACKING_URI")
        return workspace_uri(self.resolve_workspace())

    def uploads_checkpoint(self, kind: str) -> bool:
        """Whether ``log_checkpoint(path, kind)`` uploads under this policy."""
        if kind not in ("best", "last", "periodic"):
            raise ValueError(f"checkpoint kind must be 'best', 'last' or 'periodic', not {kind!r}")
        return kind in CHECKPOINT_POLICIES[self.log_checkpoints]


# The tracking-store schemes MLflow itself registers (mlflow.tracking._tracking_service.utils);
# plugins add theirs through the ``mlflow.tracking_store`` entry-point group. Kept here so
# that a bad URI is refused before MLflow (1.5 s to import) is loaded at all.
MLFLOW_STORE_SCHEMES = frozenset({"", "file", "http", "https", "sqlite", "postgresql", "mysql", "mssql",
                                  "databricks", "databricks-uc", "uc"})
DATABASE_SCHEMES = ("postgresql", "mysql", "mssql", "sqlite")  # may carry a driver: postgresql+psycopg2


def store_schemes() -> set[str]:
    """Every scheme a tracking URI may have here: MLflow's own and those of installed store plugins."""
    from importlib.metadata import entry_points

    return set(MLFLOW_STORE_SCHEMES) | {entry.name for entry in entry_points(group="mlflow.tracking_store")}


def check_uri_scheme(uri: str, source: str) -> str:
    """``uri`` when MLflow can open a store of its scheme; else ConfigError naming where it came from."""
    from urllib.parse import urlparse

    scheme = uri if uri in ("databricks", "databricks-uc", "uc") else urlparse(uri).scheme.lower()
    base = scheme.split("+", 1)[0]
    known = store_schemes()
    if scheme in known or (base in DATABASE_SCHEMES and base in known):
        return uri
    shown = ", ".join(f"{name}://" for name in sorted(known) if name)
    raise ConfigError(
        f"{source}={uri!r}: MLflow has no tracking store for the scheme {scheme!r}. "
        f"Use a server (http://HOST:PORT), a database (sqlite:///path/mlflow.db, postgresql://...), a "
        f"folder, or unset it to use the workspace's own store; known schemes: {shown}"
    )


def normalise_uri(uri: str) -> str:
    """A plain folder or ``*.db`` path becomes a URI; URIs pass unchanged.

    ``./team.db`` -> ``sqlite:///<abs>/team.db``; a folder -> its embedded workspace store;
    a relative ``sqlite:///x.db`` becomes absolute.
    """
    from mgx.core.tracking.store import workspace_uri

    from mgx.core.tracking.store import sqlite_path

    uri = str(uri).strip()
    db_path = sqlite_path(uri)
    if db_path is not None:  # absolute, so a spool replayed from another cwd finds the same file
        return f"sqlite:///{db_path}"
    if "://" in uri or uri.startswith(("databricks", "sqlite:", "file:")):
        return uri
    path = Path(uri).expanduser().resolve()
    if path.suffix == ".db":
        return f"sqlite:///{path}"
    return workspace_uri(path)
