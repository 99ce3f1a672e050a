"""Fixtures for the MMagic-compatibility tests."""
from __future__ import annotations

import pytest

import mgx.core.registry as registry_module


@pytest.fixture
def restore_registry_source():
    """Put back whichever registry ``build`` consulted before the test."""
    saved = registry_module._activate_callback, registry_module._active
    yield
    registry_module._activate_callback, registry_module._active = saved
