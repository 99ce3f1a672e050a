"""The embedded store: template, workspace layout, settings precedence, run description helpers."""
from __future__ import annotations

import os
import sqlite3
import subprocess

import pytest
from click.testing import CliRunner

from mgx.core.errors import ConfigError
from mgx.core.tracking import TrackingSettings, default_tags, flatten_config, init_workspace, workspace_uri
from mgx.core.tracking.run_info import MAX_PARAM_VALUE_LENGTH, clean_params, pip_freeze_text
from mgx.core.tracking.store import (
    TEMPLATE_DB,
    alembic_head_revision,
    db_revision,
    ensure_sqlite_store,
    get_or_create_experiment,
)


def test_template_is_at_installed_mlflow_head():
    assert TEMPLATE_DB.exists(), "run `python mlruns_template/rebuild.py`"
    assert db_revision(TEMPLATE_DB) == alembic_head_revision(), (
        "mlruns_template/mlflow-empty.db is stale for the installed MLflow: run `python mlruns_template/rebuild.py`"
    )


def test_store_from_template_is_usable_and_keeps_artifacts_in_workspace(workspace):
    from mlflow import MlflowClient

    db_path, created = init_workspace(workspace)
    assert created and db_path == workspace / "mlflow.db"
    with sqlite3.connect(db_path) as conn:
        default_location = conn.execute("SELECT artifact_location FROM experiments WHERE experiment_id = 0").fetchone()
    assert default_location[0] == (workspace / "mlartifacts" / "0").as_uri()
    uri = workspace_uri(workspace)
    client = MlflowClient(uri)  # would raise on a schema MLflow does not accept
    experiment_id = get_or_create_experiment(client, uri, "exp")
    assert get_or_create_experiment(client, uri, "exp") == experiment_id
    assert client.get_experiment(experiment_id).artifact_location == (workspace / "mlartifacts" / experiment_id).as_uri()
    run = client.create_run(experiment_id)
    assert run.info.artifact_uri.startswith((workspace / "mlartifacts").as_uri())
    assert init_workspace(workspace) == (db_path, False)


def test_unwritable_store_location_is_a_clear_error(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="not-a-folder"):
        ensure_sqlite_store(blocker / "mlflow.db")
    if os.geteuid() != 0:  # root writes anywhere; the permission case only tests as a normal user
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(ConfigError, match="not writable"):
            ensure_sqlite_store(locked / "mlflow.db")



def test_an_unwritable_store_stops_a_training_before_its_work_dir_exists(tmp_path):
    """Issue 23: the store's folder cannot be made (a file in its path): exit 2 naming it, and no
    work_dir holding only mgx_run.json, a lock and a log."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
    from engine_helpers import run_mgx, write_tiny_config

    (tmp_path / "not-a-folder").write_text("x")
    config = write_tiny_config(tmp_path, max_iters=2)
    result = run_mgx("run", "train", str(config), "--work-dir", str(tmp_path / "work"), "--tracking-uri",
                     str(tmp_path / "not-a-folder" / "team.db"), cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "not-a-folder" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "work").exists()

def test_deleted_experiment_name_is_a_clear_error(workspace):
    from mlflow import MlflowClient

    uri = workspace_uri(workspace)
    init_workspace(workspace)
    client = MlflowClient(uri)
    client.delete_experiment(get_or_create_experiment(client, uri, "gone"))
    with pytest.raises(ConfigError, match="'gone'.*deleted.*restore"):
        get_or_create_experiment(client, uri, "gone")


def test_mgx_init_command(workspace):
    from mgx.cli.tracking_commands import init

    result = CliRunner().invoke(init, [str(workspace / "new")])
    assert result.exit_code == 0, result.output
    assert "created" in result.output and (workspace / "new" / "mlflow.db").exists()
    again = CliRunner().invoke(init, [str(workspace / "new")])
    assert again.exit_code == 0 and "already present" in again.output


def test_settings_precedence(monkeypatch, tmp_path):
    flags = {"tracking_uri": None, "experiment": "from-flag", "run_name": None, "enabled": None}
    config = {"tracking_uri": "http://config:5000", "experiment": "from-config", "run_name": "cfg-run"}
    merged = TrackingSettings.from_layers(flags, config)
    assert (merged.experiment, merged.run_name, merged.enabled) == ("from-flag", "cfg-run", True)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://env:5000")
    assert merged.resolve_uri() == "http://config:5000"  # config beats env
    assert TrackingSettings.from_layers({"tracking_uri": "http://flag:1"}, config).resolve_uri() == "http://flag:1"
    assert TrackingSettings().resolve_uri() == "http://env:5000"  # env beats embedded
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.chdir(tmp_path)
    assert TrackingSettings().resolve_uri() == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    assert TrackingSettings(tracking_uri=str(tmp_path / "team.db")).resolve_uri().endswith("/team.db")
    with pytest.raises(ConfigError, match="log_checkpoints='sometimes'"):
        TrackingSettings(log_checkpoints="sometimes")
    with pytest.raises(ConfigError, match="unknown tracking setting 'tracking_url'"):
        TrackingSettings.from_layers({"tracking_url": "x"})


def test_flatten_and_truncate_params():
    cfg = {"model": {"type": "DCGAN", "generator": {"ch": 64}}, "val_evaluator": {"metrics": [
        {"type": "FID", "fake_nums": 100}, {"type": "IS"}]}, "scales": [1, 2], "note": None,
        "long": "x" * (MAX_PARAM_VALUE_LENGTH + 50)}
    flat = flatten_config(cfg)
    assert flat["model.generator.ch"] == "64"
    assert flat["val_evaluator.metrics.0.type"] == "FID" and flat["val_evaluator.metrics.1.type"] == "IS"
    assert flat["scales"] == "[1, 2]" and flat["note"] == "null"
    cleaned = clean_params(flat)
    long_value = cleaned["long"]
    assert len(long_value) == MAX_PARAM_VALUE_LENGTH
    kept, marker = long_value.split("...[truncated ")
    assert set(kept) == {"x"} and marker == f"{MAX_PARAM_VALUE_LENGTH + 50 - len(kept)} chars]"
    assert clean_params({"short": 5}) == {"short": "5"}


def test_default_tags_git_and_slurm(tmp_path, monkeypatch):
    repo = tmp_path / "proj"
    repo.mkdir()
    cfg = repo / "cfg.py"
    cfg.write_text("a = 1\n")
    git_ok = subprocess.run(["git", "--version"], capture_output=True).returncode == 0
    if git_ok:
        env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
                   GIT_COMMITTER_EMAIL="t@t")
        for args in (["init", "-q"], ["add", "cfg.py"], ["commit", "-qm", "c"]):
            subprocess.run(["git", *args], cwd=repo, check=True, env=env)
        cfg.write_text("a = 2\n")
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    tags = default_tags(config_file=cfg, launcher="slurm", world_size=8, hosts=["n2", "n1", "n2"],
                        plugins={"mgx": "0.1.0", "mgx-extra": "1.2"})
    assert tags["mgx.slurm.job_id"] == "4242" and tags["mgx.world_size"] == "8"
    assert tags["mgx.hosts"] == "n1,n2" and tags["mgx.launcher"] == "slurm"
    assert tags["mgx.plugins"] == "mgx==0.1.0, mgx-extra==1.2" and tags["mgx.config_file"] == "cfg.py"
    assert tags["mlflow.source.type"] == "LOCAL" and tags["mgx.version"]
    if git_ok:
        assert len(tags["mlflow.source.git.commit"]) == 40 and tags["mgx.git.dirty"] == "true"


def test_pip_freeze_lists_installed_distributions():
    import mlflow

    text = pip_freeze_text()
    assert f"mlflow=={mlflow.__version__}" in text.splitlines()
