"""Fixtures for the whole suite."""
from __future__ import annotations

import signal

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
