import pytest

from mgx.core.plugins import PluginManager


@pytest.fixture(autouse=True)
def data_plugins():
    """The built-in data plugins as the active registry (what ``build`` consults)."""
    return PluginManager(["mgx.plugins.data"]).activate()
