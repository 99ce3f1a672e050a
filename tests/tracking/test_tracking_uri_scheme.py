"""A tracking URI whose scheme MLflow cannot open is refused at once: exit 2, one clear line."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mgx.core.errors import ConfigError
from mgx.core.tracking.settings import MLFLOW_STORE_SCHEMES, TrackingSettings, check_uri_scheme

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "example_config.py"


def _mgx(args, tmp_path, **env):
    return subprocess.run([sys.executable, "-m", "mgx.cli", *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env={**os.environ, **env})


@pytest.mark.parametrize("command", [["run", "train", str(CONFIG)], ["run", "test", str(CONFIG), "missing.pth"],
                                     ["runs", "list"], ["runs", "compare", "some-run"]])
def test_unknown_scheme_in_the_environment_is_a_clear_usage_error(command, tmp_path):
    work_dir = tmp_path / "wd"
    args = [*command, "--work-dir", str(work_dir)] if command[0] == "run" else command
    result = _mgx(args, tmp_path, MLFLOW_TRACKING_URI="foo://bar")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "MLFLOW_TRACKING_URI='foo://bar'" in lines[0] and "scheme 'foo'" in lines[0]
    assert "http://" in lines[0] and "sqlite://" in lines[0]  # what would work
    assert not work_dir.exists()  # refused before the work_dir, the log or the model were made


def test_unknown_scheme_in_the_config_stops_before_the_work_dir_is_made(tmp_path):
    config = tmp_path / "bad_store.py"
    config.write_text(f"_base_ = [{str(CONFIG)!r}]\ntracking_uri = 'foo://bar'\n")
    work_dir = tmp_path / "wd"
    result = _mgx(["run", "train", str(config), "--work-dir", str(work_dir)], tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "scheme 'foo'" in result.stderr
    assert not work_dir.exists()


def test_no_track_ignores_the_store():
    assert TrackingSettings(tracking_uri="foo://bar", enabled=False).enabled is False


@pytest.mark.parametrize("uri", ["http://127.0.0.1:5000", "https://mlflow.example.org", "sqlite:////tmp/x.db",
                                 "postgresql://u:p@db/mlflow", "postgresql+psycopg2://u:p@db/mlflow",
                                 "mysql+pymysql://u@db/mlflow", "file:///tmp/mlruns", "databricks"])
def test_schemes_mlflow_opens_are_accepted(uri):
    assert check_uri_scheme(uri, "test") == uri


@pytest.mark.parametrize("uri", ["foo://bar", "htp://127.0.0.1:5000", "s3://bucket/mlruns"])
def test_other_schemes_are_refused(uri):
    with pytest.raises(ConfigError, match="no tracking store for the scheme"):
        check_uri_scheme(uri, "test")


def test_the_scheme_list_covers_every_store_mlflow_registers():
    """Catches a new MLflow version that adds a store scheme the fast check does not know."""
    from mlflow.tracking._tracking_service.utils import _tracking_store_registry

    assert set(_tracking_store_registry._registry) <= set(MLFLOW_STORE_SCHEMES)
