"""Fixtures for the tracking tests: a clean environment, workspaces, a real `mlflow server`."""
from __future__ import annotations

import signal
from pathlib import Path

import pytest


@pytest.fixture(autouse=True, scope="session")
def ctrl_c_reaches_children():
    """Children start with Ctrl-C's default action, as from a terminal.

    A suite started as a background job of a script or CI step (``pytest ... &``) inherits SIGINT
    ignored; an ignored signal stays ignored across exec, so every `mgx` child would ignore the SIGINT
    the tests send it as Ctrl-C (`mgx ui` not stopping, an interrupted sweep training on). A handler,
    unlike SIG_IGN, is reset to the default in a child at exec.
    """
    previous = signal.getsignal(signal.SIGINT)
    if previous == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


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
