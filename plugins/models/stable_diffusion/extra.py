"""The optional extra the diffusion families need (``pip install 'mgx[diffusion]'``): without it their
components are registered as placeholders that say what to install. Pre-flight stops a config that
names one with that message (exit 2) before anything is written; ``mgx plugins`` prints it."""
from __future__ import annotations

import importlib.util

from mgx.core.errors import ConfigError

EXTRA = "diffusion"
REQUIRED = ("diffusers", "transformers", "safetensors")


def missing_packages() -> list[str]:
    """The extra's packages that are not importable (looked up without importing them)."""
    missing = []
    for name in REQUIRED:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing


def placeholder(name: str, module: str, missing: list[str]) -> type:
    """A component named ``name`` (in ``module``) that explains, instead of building, what to install."""
    reason = (f"{name} needs the optional extra '{EXTRA}' ({', '.join(missing)} not installed): "
              f"pip install 'mgx[{EXTRA}]'")

    def __init__(self, *args, **kwargs):
        raise ConfigError(reason)

    return type(name, (), {"__init__": __init__, "unavailable": reason, "__doc__": reason, "__module__": module})


def available_or_placeholders(components: list, module: str) -> list:
    """``components`` when the extra is installed, else a placeholder for each (same names)."""
    missing = missing_packages()
    if not missing:
        return list(components)
    return [placeholder(component.__name__, module, missing) for component in components]
