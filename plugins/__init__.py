"""mgx's built-in plugins.

Each module below implements hooks from ``mgx.core.hookspecs`` with nothing but
mgx.core's public API, exactly as a pip-installed plugin would. The CLI loads
them by name before the ``mgx`` entry-point group (as datasette's
DEFAULT_PLUGINS does); block one with ``MGX_DISABLE_PLUGINS=<module name>``.
"""

DEFAULT_PLUGINS = (
    "mgx.plugins.loops",
    "mgx.plugins.data",
    "mgx.plugins.models",
    "mgx.plugins.metrics",
    "mgx.plugins.feature_extractors",
    "mgx.plugins.launchers",
    "mgx.plugins.diffusion",  # needs the optional extra mgx[diffusion]; explains itself without it
)
