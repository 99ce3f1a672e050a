"""Replay spool files into their store, idempotently.

Safe to run any number of times, also after a replay that died half way:

* metrics: MLflow's history keeps duplicates, so each value is written only if
  no stored value has the same (key, step, timestamp, value);
* params: only keys the run lacks (a different stored value is reported, never overwritten);
* tags, artifacts, step images: writes overwrite the same names;
* offline runs: created once, found again by tag ``mgx.offline_run_id``;
* run status: the recorded end state and end time.

A file is deleted once everything in it is in the store.
"""
from __future__ import annotations

import logging
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from mgx.core.tracking import operations as ops
from mgx.core.tracking.spool import (
    OFFLINE_PREFIX,
    SPOOL_DIR_NAME,
    load_id_map,
    pending_files,
    read_records,
    save_id_map,
    try_lock,
)

log = logging.getLogger(__name__)
OFFLINE_ID_TAG = "mgx.offline_run_id"


@dataclass
class ReplayReport:
    """What a replay did (counts add up over files)."""

    files_done: list[Path] = field(default_factory=list)
    files_in_use: list[Path] = field(default_factory=list)
    files_failed: dict[Path, str] = field(default_factory=dict)
    metrics_written: int = 0
    metrics_present: int = 0
    params_written: int = 0
    param_conflicts: list[str] = field(default_factory=list)
    artifacts_uploaded: int = 0
    artifacts_missing: list[str] = field(default_factory=list)
    runs_created: dict[str, str] = field(default_factory=dict)
    runs_terminated: int = 0
    models_logged: int = 0

    @property
    def nothing_to_do(self) -> bool:
        return not (self.files_done or self.files_in_use or self.files_failed)

    def summary(self) -> str:
        """One paragraph for the CLI and the logs."""
        parts = [
            f"{len(self.files_done)} spool file(s) replayed",
            f"{self.metrics_written} metric values written ({self.metrics_present} already in the store)",
            f"{self.params_written} params",
            f"{self.artifacts_uploaded} artifacts",
        ]
        if self.models_logged:
            parts.append(f"{self.models_logged} trained model(s) logged")
        if self.runs_created:
            parts.append("runs created: " + ", ".join(f"{a} -> {b}" for a, b in self.runs_created.items()))
        text = "; ".join(parts)
        for path in self.files_in_use:
            text += f"\n{path}: in use by a live run, left alone"
        for path, why in self.files_failed.items():
            text += f"\n{path}: not replayed: {why}"
        for item in self.param_conflicts:
            text += f"\nparam not overwritten: {item}"
        for item in self.artifacts_missing:
            text += f"\nartifact file gone, not uploaded: {item}"
        return text


def find_spool_dirs(root: Path, max_depth: int = 4) -> list[Path]:
    """Spool folders at or below ``root`` (a work dir, or a project holding work dirs)."""
    root = Path(root)
    if root.name == SPOOL_DIR_NAME and root.is_dir():
        return [root]
    found = []
    base_depth = len(root.resolve().parts)
    for current, dirs, _files in os.walk(root):
        depth = len(Path(current).resolve().parts) - base_depth
        if SPOOL_DIR_NAME in dirs:
            found.append(Path(current) / SPOOL_DIR_NAME)
        dirs[:] = [d for d in dirs if d != SPOOL_DIR_NAME and not d.startswith(".") and depth < max_depth
                   and d not in ("mlartifacts", "mlruns", "node_modules", "__pycache__")]
    return sorted(found)


def replay_spool_dir(folder: Path, tracking_uri: str | None = None, report: ReplayReport | None = None) -> ReplayReport:
    """Replay every closed spool file in a spool folder, oldest first.

    ``tracking_uri`` overrides the store recorded in each file's header. Stops at the
    first file that fails, so later records never overtake earlier ones.
    """
    report = report or ReplayReport()
    for path in pending_files(folder):
        handle = try_lock(path)
        if handle is None:
            report.files_in_use.append(path)
            continue
        try:
            _replay_file(path, Path(folder), tracking_uri, report)
        except Exception as exc:  # noqa: BLE001 - reported with the file; the spool stays
            report.files_failed[path] = f"{type(exc).__name__}: {str(exc)[:500]}"
            break
        finally:
            handle.close()
        path.unlink()
        report.files_done.append(path)
    return report


def _client_for(uri: str):
    from mlflow import MlflowClient

    from mgx.core.tracking.store import prepare_store

    prepare_store(uri)
    return MlflowClient(uri)


def _replay_file(path: Path, folder: Path, tracking_uri: str | None, report: ReplayReport) -> None:
    header, records = read_records(path)
    uri = tracking_uri or header.get("tracking_uri")
    if not uri:
        raise ValueError("spool file has no header naming its store; pass --tracking-uri")
    client = _client_for(uri)
    id_map = load_id_map(folder)

    for record in records:
        if record["op"] == "create_run" and record["run"] not in id_map:
            id_map[record["run"]] = _create_offline_run(client, uri, record, report)
            save_id_map(folder, id_map)  # before anything is logged to it: a crash never creates it twice

    def real(run: str) -> str:
        if run.startswith(OFFLINE_PREFIX) and run not in id_map:
            raise ValueError(f"offline run {run} has no create_run record and no mapping in {folder}")
        return id_map.get(run, run)

    metrics: dict[str, list] = defaultdict(list)
    params: dict[str, dict] = defaultdict(dict)
    tags: dict[str, dict] = defaultdict(dict)
    uploads: list[dict] = []
    terminate: dict[str, dict] = {}
    models: list[dict] = []
    for record in records:
        op = record["op"]
        if op == "metrics":
            metrics[real(record["run"])].extend(record["m"])
        elif op == "params":
            params[real(record["run"])].update(record["p"])
        elif op == "tags":
            tags[real(record["run"])].update(record["t"])
        elif op in ("artifact", "image"):
            uploads.append(record)
        elif op == "terminate":
            terminate[real(record["run"])] = record
        elif op == "model":
            models.append(record)

    for run_id in sorted(set(metrics) | set(params) | set(tags) | set(terminate)
                         | {real(u["run"]) for u in uploads}):
        _log_spooled_values(client, uri, run_id, params.get(run_id, {}), metrics.get(run_id, []),
                            tags.get(run_id), report)
    for record in uploads:
        _upload_spooled_file(client, real(record["run"]), record, folder, report)

    for record in models:  # after the values it links, before the run ends (as at the end of a training)
        from mgx.core.tracking.model_registry import log_spooled_model

        try:
            report.models_logged += log_spooled_model(uri, real(record["run"]), record)
        except FileNotFoundError as exc:  # the values are worth replaying without it
            report.artifacts_missing.append(str(exc))
    for run_id, record in terminate.items():
        client.set_terminated(run_id, status=record["status"], end_time=record["end_time"])
        report.runs_terminated += 1


def _log_spooled_values(client, uri: str, run_id: str, params: dict, values: list, tags: dict | None,
                        report: ReplayReport) -> None:
    """Log a run's spooled params, metrics and tags, skipping what the store holds already."""
    run = client.get_run(run_id)  # raises RESOURCE_DOES_NOT_EXIST for a run that is gone
    if run.info.lifecycle_stage != "active":
        raise ValueError(f"run {run_id} is deleted in {uri}; restore it (mlflow runs restore) and sync again")
    for staged in ops.remove_interrupted_uploads(run.info.artifact_uri):  # the spool holds those files
        log.warning("removed %s, an upload the killed session left unfinished", staged)
    new_params = {}
    for key, value in params.items():
        stored = run.data.params.get(key)
        if stored is None:
            new_params[key] = value
        elif stored != value:
            report.param_conflicts.append(f"run {run_id} {key}: stored {stored!r}, spooled {value!r}")
    present = ops.existing_metric_identities(client, run_id, {m[0] for m in values}) if values else set()
    fresh, seen = [], set()
    for m in values:
        identity = ops.metric_identity(*m)
        if identity in present or identity in seen:
            report.metrics_present += identity in present
            continue
        seen.add(identity)
        fresh.append(m)
    for call_metrics, call_params, call_tags in ops.batch_calls(fresh, new_params, tags):
        client.log_batch(run_id, metrics=call_metrics, params=call_params, tags=call_tags)
    report.metrics_written += len(fresh)
    report.params_written += len(new_params)


def _upload_spooled_file(client, run_id: str, record: dict, folder: Path, report: ReplayReport) -> None:
    """Upload a spooled artifact or image; the spool's own copy is removed once uploaded."""
    local = Path(record["path"])
    if not local.exists():
        report.artifacts_missing.append(f"{local} (run {run_id})")
        return
    if record["op"] == "image":
        ops.upload_image(client, run_id, local, record["key"], record["step"], record["timestamp"], record["uuid"])
    else:
        ops.upload_artifact(client, run_id, local, record.get("artifact_path"))
    report.artifacts_uploaded += 1
    if folder in local.parents:  # our preserved copy: no longer needed
        local.unlink(missing_ok=True)
        try:
            local.parent.rmdir()
        except OSError:
            pass


def _create_offline_run(client, uri: str, record: dict, report: ReplayReport) -> str:
    """The real run of an offline id: found by its tag if a replay created it already, else created."""
    from mgx.core.tracking.store import get_or_create_experiment

    experiment_id = get_or_create_experiment(client, uri, record.get("experiment"))
    existing = client.search_runs(
        [experiment_id], filter_string=f"tags.`{OFFLINE_ID_TAG}` = '{record['run']}'", max_results=1,
    )
    if existing:
        return existing[0].info.run_id
    tags = dict(record.get("tags") or {})
    tags[OFFLINE_ID_TAG] = record["run"]
    run = client.create_run(
        experiment_id, start_time=record.get("start_time"), tags=tags, run_name=record.get("run_name"),
    )
    report.runs_created[record["run"]] = run.info.run_id
    log.info("created run %s for offline run %s", run.info.run_id, record["run"])
    return run.info.run_id
