"""The process-wide plugin manager the commands share (built-ins + entry points)."""
from __future__ import annotations

from functools import lru_cache

from mgx.core.plugins import PluginManager
from mgx.plugins import DEFAULT_PLUGINS


@lru_cache(maxsize=1)
def plugin_manager() -> PluginManager:
    """Created on first use; loading happens lazily inside the manager."""
    return PluginManager(DEFAULT_PLUGINS).activate()
