"""``mgx run train --from-run RUN`` and ``--resume-run RUN``: a training started from the MLflow
record alone (no config file, no work_dir files).

Both are resolved here, in the process the user started, before any launcher runs:
the recorded config (and for ``--resume-run`` the last checkpoint) are downloaded into
the work_dir, and the job then runs like ``mgx run train <that config> [--resume <ckpt>]``
on every launcher (local, dist, slurm workers read the same files).
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import click

from mgx.core.errors import ConfigError
from mgx.core.run.workdir_lock import check_free

from .context import wrap_to_terminal


def _open_store(params: dict) -> tuple[Any, str]:
    from mlflow import MlflowClient

    from mgx.core.tracking.settings import TrackingSettings, configure_http_env
    from mgx.core.tracking.store import sqlite_path

    configure_http_env()
    uri = TrackingSettings(tracking_uri=params.get("tracking_uri")).resolve_uri()
    db = sqlite_path(uri)
    if db is not None and not db.exists():
        raise ConfigError(f"no tracking store at {db}: run the command in the workspace that holds mlflow.db, or "
                          "pass --tracking-uri (a store path or an `mlflow server` URL)")
    return MlflowClient(uri), uri


def _current_tags() -> dict[str, str]:
    from mgx.core.tracking.run_info import git_tags, mgx_version

    from .context import plugin_manager

    tags = dict(git_tags(Path.cwd()))
    tags["mgx.version"] = mgx_version()
    infos = plugin_manager().plugins.values()
    versions = {info.distribution if not info.builtin else info.name: info.version for info in infos}
    tags["mgx.plugins"] = ", ".join(f"{name}=={version}" for name, version in sorted(versions.items()))
    return tags


def _work_dir_for(config_path: Path, params: dict, cfg_items: list[str]) -> Path:
    from mgx.core.config import load_config
    from mgx.core.run.settings import RunOptions, resolve_work_dir

    work_dir = Path(params["work_dir"]) if params.get("work_dir") else None
    return resolve_work_dir(lambda: load_config(config_path, cfg_items),
                            RunOptions(config_path=config_path, work_dir=work_dir)).resolve()


def prepare_recorded_start(config: str | None, params: dict, cfg_items: list[str]) -> str:
    """Resolve ``--from-run`` / ``--resume-run``: download what the job needs and return the
    config file to train; ``params`` gain the work_dir, tags, checkpoint and store to use."""
    import tempfile

    from mgx.core.tracking.run_source import (SOURCE_RUN_TAG, download_best_checkpoint, download_checkpoint,
                                              download_config, environment_differences, find_run)

    from_run, resume_run = params.get("from_run"), params.get("resume_run")
    if from_run and resume_run:
        raise ConfigError("--from-run and --resume-run exclude each other: --from-run starts a new run from a "
                          "recorded config, --resume-run continues the recorded run itself")
    flag = "--from-run" if from_run else "--resume-run"
    if config is not None:
        raise ConfigError(f"{flag} takes the config from the recorded run: drop the CONFIG argument {config!r}")
    if params.get("resume") is not None:
        raise ConfigError(f"{flag} and --resume exclude each other (--resume continues a training whose files "
                          "are in the work_dir)")
    if params.get("no_track"):
        raise ConfigError(f"{flag} reads the MLflow record: it cannot be combined with --no-track")
    client, uri = _open_store(params)
    run = find_run(client, from_run or resume_run, uri)
    params["tracking_uri"] = uri  # workers open the same store
    with tempfile.TemporaryDirectory(prefix="mgx-record-") as tmp:
        recorded = download_config(client, run, Path(tmp))
        work_dir = _work_dir_for(recorded.path, params, cfg_items)
        if from_run and not params.get("work_dir"):
            work_dir = _fresh_folder(work_dir, run.info.run_id)
        check_free(work_dir)  # nothing is copied into the folder of a training still running
        if from_run:
            differences = environment_differences(run, _current_tags())
            if differences and params.get("strict"):
                raise ConfigError(f"--strict: this environment differs from run {run.info.run_id}'s:\n  "
                                  + "\n  ".join(differences))
            for line in differences:
                click.echo(f"warning: differs from run {run.info.run_id}: {line}", err=True)
            work_dir.mkdir(parents=True, exist_ok=True)
            params["run_tags"] = (*(params.get("run_tags") or ()), f"{SOURCE_RUN_TAG}={run.info.run_id}")
        else:
            _check_empty(work_dir)
            created = not work_dir.exists()
            try:
                checkpoint = download_checkpoint(client, run, work_dir)
                _check_checkpoint_run(checkpoint, run.info.run_id)
                best = download_best_checkpoint(client, run, work_dir)  # the run still ends with its best
            except BaseException:
                if created:
                    shutil.rmtree(work_dir, ignore_errors=True)
                raise
            # "auto", not the path: the download is the work_dir's only checkpoint, and a Slurm
            # requeue (which re-runs the same worker command) then picks the newest one instead
            params["resume"] = "auto"
            also = f" (best so far: {best.name})" if best is not None and best != checkpoint else ""
            click.echo(wrap_to_terminal(f"--resume-run: continuing run {run.info.run_id} ({run.info.run_name}) "
                                        f"from {checkpoint.name}{also} in {work_dir}"), err=True)
        target = work_dir / recorded.path.name
        shutil.copyfile(recorded.path, target)
    params["work_dir"] = str(work_dir)
    return str(target)


def prepare_registered_model(config: str | None, checkpoint: str | None, params: dict,
                             cfg_items: list[str]) -> tuple[str, str]:
    """``mgx run test --model URI``: the network of an MLflow model as a checkpoint file in the
    work_dir (and the config its run recorded when CONFIG is not given); returns (config, checkpoint)."""
    import tempfile

    from mgx.core.engine.checkpoint import save_checkpoint
    from mgx.core.engine.checkpoint_state import CheckpointMeta, CheckpointState
    from mgx.core.tracking.model_registry import load_registered_network
    from mgx.core.tracking.run_source import download_config

    model_uri = params["model_uri"]
    if checkpoint is not None:
        raise ConfigError(f"--model {model_uri} replaces the CHECKPOINT argument: drop {checkpoint!r}")
    client, uri = _open_store(params)
    network, run_id, step = load_registered_network(uri, model_uri)
    params["tracking_uri"] = uri
    with tempfile.TemporaryDirectory(prefix="mgx-model-") as tmp:
        if config is None:
            if run_id is None:
                raise ConfigError(f"--model {model_uri} is linked to no run with a recorded config: give CONFIG")
            config_path = download_config(client, client.get_run(run_id), Path(tmp)).path
        else:
            config_path = Path(config)
        work_dir = _work_dir_for(config_path, params, cfg_items)
        work_dir.mkdir(parents=True, exist_ok=True)
        if config is None:
            target = work_dir / config_path.name
            shutil.copyfile(config_path, target)
            config = str(target)
    state = CheckpointState.weights_only(network.state_dict(), CheckpointMeta(iteration=step, tracking_run_id=run_id,
                                                                              model_uri=model_uri))
    path = work_dir / "mlflow_model.pth"
    save_checkpoint(state.to_dict(), path)
    params["work_dir"] = str(work_dir)
    params["run_tags"] = (*(params.get("run_tags") or ()), f"mgx.model_uri={model_uri}")
    return config, str(path)


def _fresh_folder(default: Path, source_run_id: str) -> Path:
    """``--from-run`` without ``--work-dir``: a new run gets a new folder, ``<default>-from-<run id[:8]>``
    (numbered ``-2``, ``-3``... when taken), never the config-named one another training may use."""
    base = f"{default.name}-from-{source_run_id[:8]}"
    candidate, number = default.parent / base, 1
    while candidate.exists():
        number += 1
        candidate = default.parent / f"{base}-{number}"
    return candidate


def _check_empty(work_dir: Path) -> None:
    if work_dir.is_dir() and any(work_dir.iterdir()):
        raise ConfigError(f"--resume-run fills an empty or missing work_dir, but {work_dir} holds files; give "
                          "another --work-dir, or continue the training that is there with --resume")
    if work_dir.exists() and not work_dir.is_dir():
        raise ConfigError(f"work_dir {work_dir} is a file, not a folder")


def _check_checkpoint_run(checkpoint: Path, run_id: str) -> None:
    from mgx.core.engine.checkpoint import read_checkpoint

    recorded = read_checkpoint(checkpoint).meta.tracking_run_id
    if recorded != run_id:
        raise ConfigError(f"checkpoint {checkpoint.name} of run {run_id} records MLflow run {recorded!r}; it "
                          "cannot continue that run")


__all__ = ["prepare_recorded_start", "prepare_registered_model"]
