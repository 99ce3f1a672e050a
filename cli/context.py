"""The process-wide plugin manager the commands share (built-ins + entry points)."""
from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mgx.core.plugins import PluginManager


@lru_cache(maxsize=1)
def plugin_manager() -> "PluginManager":
    """Created on first use (importing pluggy and entry-point metadata only then, so
    ``mgx --help`` stays fast); loading happens lazily inside the manager."""
    from mgx.core.plugins import PluginManager
    from mgx.plugins import DEFAULT_PLUGINS

    return PluginManager(DEFAULT_PLUGINS).activate()


def wrap_to_terminal(text: str) -> str:
    """``text`` wrapped to the terminal's width (80 columns when it is not a terminal)."""
    from mgx.core.run.progress import terminal_width, wrap_to_width

    return wrap_to_width(text, terminal_width() - 1)
