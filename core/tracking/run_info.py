"""What describes a run: flattened params, default tags, the package list."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping

# MLflow 3.17 limits (mlflow.utils.validation); copied as constants so that
# truncation happens before the store rejects a whole batch.
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_KEY_LENGTH = 250
TRUNCATION_MARKER = "...[truncated {n} chars]"


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Resolved config -> ``{"model.generator.type": "DCGAN", ...}`` with string values.

    Nested dicts join with ``.``; a list that holds dicts is indexed
    (``val_evaluator.metrics.0.type``) so runs compare key by key; other lists
    and scalars are written with ``repr``-like JSON where possible.
    """
    flat: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten_config(value, f"{name}."))
        elif isinstance(value, (list, tuple)) and any(isinstance(v, Mapping) for v in value):
            for index, item in enumerate(value):
                if isinstance(item, Mapping):
                    flat.update(flatten_config(item, f"{name}.{index}."))
                else:
                    flat[f"{name}.{index}"] = _scalar_text(item)
        else:
            flat[name] = _scalar_text(value)
    return flat


def _scalar_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def truncate_value(value: str, limit: int) -> str:
    """Cut ``value`` to ``limit`` characters, ending with a marker that says how much went."""
    value = str(value)
    if len(value) <= limit:
        return value
    keep = limit - len(TRUNCATION_MARKER.format(n=len(value)))
    # The marker's length depends on how much is cut; settle it so the result is exactly `limit`.
    while keep + len(TRUNCATION_MARKER.format(n=len(value) - keep)) < limit:
        keep += 1
    keep = max(0, keep)
    return value[:keep] + TRUNCATION_MARKER.format(n=len(value) - keep)


def clean_params(params: Mapping[str, Any]) -> dict[str, str]:
    """Params ready for MLflow: string values truncated to its length limit, keys shortened."""
    cleaned: dict[str, str] = {}
    for key, value in params.items():
        key = str(key)
        if len(key) > MAX_KEY_LENGTH:
            key = truncate_value(key, MAX_KEY_LENGTH)
        cleaned[key] = truncate_value("" if value is None else str(value), MAX_PARAM_VALUE_LENGTH)
    return cleaned


def clean_tags(tags: Mapping[str, Any]) -> dict[str, str]:
    """Tags ready for MLflow (values truncated to its tag limit)."""
    return {str(k): truncate_value("" if v is None else str(v), MAX_TAG_VALUE_LENGTH) for k, v in tags.items()}


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def git_tags(folder: Path) -> dict[str, str]:
    """Commit, dirty flag and remote of the git checkout holding ``folder`` (empty if none)."""
    folder = Path(folder).resolve()
    if folder.is_file():
        folder = folder.parent
    commit = _git(["rev-parse", "HEAD"], folder)
    if not commit:
        return {}
    tags = {"mlflow.source.git.commit": commit}
    status = _git(["status", "--porcelain", "--untracked-files=no"], folder)
    tags["mgx.git.dirty"] = "true" if status else "false"
    branch = _git(["rev-parse", "--abbrev-ref", "HEAD"], folder)
    if branch and branch != "HEAD":
        tags["mlflow.source.git.branch"] = branch
    remote = _git(["config", "--get", "remote.origin.url"], folder)
    if remote:
        tags["mlflow.source.git.repoURL"] = remote
    return tags


def mgx_version() -> str:
    """The installed mgx version (``unknown`` when it cannot be read)."""
    try:
        from mgx import __version__

        return __version__
    except ImportError:  # pragma: no cover - mgx is always importable when this runs
        return "unknown"


def default_tags(
    *,
    config_file: Path | str | None = None,
    launcher: str | None = None,
    world_size: int | None = None,
    amp: bool | None = None,
    hosts: Iterable[str] | None = None,
    plugins: Mapping[str, str] | None = None,
    source_name: str | None = None,
) -> dict[str, str]:
    """Tags every mgx run carries.

    Computed here: ``mlflow.source.name/type``, git commit/branch/remote and
    ``mgx.git.dirty`` (of the checkout holding the config file, else the cwd),
    ``mgx.version``, ``mgx.hosts`` (this host unless ``hosts`` is given),
    ``mgx.slurm.job_id`` (when ``SLURM_JOB_ID`` is set), ``mlflow.user``, and for a
    sweep's point ``mlflow.parentRunId`` + ``mgx.sweep.point`` (from the environment
    ``mgx sweep`` gives its children).
    Passed by the engine: launcher, world size, AMP (``mgx.amp`` true/false), plugins (``{dist name: version}``),
    the config file.
    """
    tags: dict[str, str] = {
        "mlflow.source.name": source_name or (" ".join(Path(sys.argv[0]).name.split()) or "mgx"),
        "mlflow.source.type": "LOCAL",
        "mgx.version": mgx_version(),
        "mgx.hosts": ",".join(sorted(set(hosts))) if hosts else socket.gethostname(),
    }
    user = os.environ.get("USER") or os.environ.get("LOGNAME")
    if user:
        tags["mlflow.user"] = user
    tags.update(git_tags(Path(config_file).parent if config_file else Path.cwd()))
    if config_file:
        tags["mgx.config_file"] = Path(config_file).name
    if launcher:
        tags["mgx.launcher"] = launcher
    if world_size is not None:
        tags["mgx.world_size"] = str(world_size)
    if amp is not None:
        tags["mgx.amp"] = "true" if amp else "false"
    slurm_job = os.environ.get("SLURM_JOB_ID")
    if slurm_job:
        tags["mgx.slurm.job_id"] = slurm_job
    parent = os.environ.get("MGX_SWEEP_PARENT_RUN_ID")  # a sweep's point: mgx.core.run.sweep.PARENT_ENV
    if parent:
        tags["mlflow.parentRunId"] = parent
        tags["mgx.sweep.point"] = os.environ.get("MGX_SWEEP_POINT", "")
    if plugins is not None:
        tags["mgx.plugins"] = ", ".join(f"{name}=={version}" for name, version in sorted(plugins.items()))
    return tags


def default_run_name(config_file: Path | str | None = None, mode: str | None = None) -> str:
    """A run name that says what ran and differs between runs: ``<config stem>[-test]-<6 hex>``.

    The random part comes from the OS (``secrets``), not from the RNGs the run seeds:
    MLflow's own generated names repeat for every run with the same seed.
    """
    import secrets

    stem = Path(config_file).stem if config_file else "mgx"
    parts = [stem] + ([mode] if mode and mode != "train" else []) + [secrets.token_hex(3)]
    return "-".join(parts)


def pip_freeze_text() -> str:
    """``name==version`` lines of every installed distribution, like ``pip freeze`` (no subprocess)."""
    from importlib.metadata import distributions

    lines = set()
    for dist in distributions():
        name = dist.metadata["Name"] if dist.metadata else None
        if name:
            lines.add(f"{name}=={dist.version}")
    return "\n".join(sorted(lines, key=str.lower)) + "\n"
