"""Fixtures for the tracking tests: a clean environment, workspaces, a real `mlflow server`."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def clean_tracking_env(monkeypatch):
    """No store from the developer's shell; fast-failing HTTP so offline paths take seconds."""
    for name in ("MLFLOW_TRACKING_URI", "MGX_WORKSPACE", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")


@pytest.fixture
def workspace(tmp_path) -> Path:
    folder = tmp_path / "ws"
    folder.mkdir()
    return folder
