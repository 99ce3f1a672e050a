"""mmengine's ``custom_imports=dict(imports=[...], allow_failed_imports=False)``.

Each listed module is imported (the working directory is searched first, as
when MMagic's ``tools/train.py`` runs from a project root). A module that
defines ``@hookimpl`` functions becomes a plugin for this run only: its
registration hooks add components, its lifecycle hooks fire. A module that
cannot be imported is an error naming it, unless ``allow_failed_imports=True``
(then a warning).
"""
from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sys
import types
from typing import Any, Iterator

from mgx.core.errors import ConfigError

ACCEPTED_KEYS = ("imports", "allow_failed_imports")
log = logging.getLogger("mgx")


def custom_import_names(cfg: dict) -> tuple[list[str], bool]:
    """The module names and the allow_failed_imports flag, validated."""
    spec = cfg.get("custom_imports")
    if spec is None:
        return [], False
    if not isinstance(spec, dict):
        raise ConfigError(f"custom_imports must be dict(imports=['module', ...], allow_failed_imports=False), "
                          f"got {spec!r}")
    unknown = sorted(set(spec) - set(ACCEPTED_KEYS))
    if unknown:
        raise ConfigError(f"custom_imports has unknown key(s) {unknown}; accepted: {', '.join(ACCEPTED_KEYS)}")
    names = spec.get("imports", [])
    names = [names] if isinstance(names, str) else names
    if not isinstance(names, (list, tuple)) or not all(isinstance(name, str) and name for name in names):
        raise ConfigError(f"custom_imports.imports must be a module name or a list of them, got {names!r}")
    allow_failed = spec.get("allow_failed_imports", False)
    if not isinstance(allow_failed, bool):
        raise ConfigError(f"custom_imports.allow_failed_imports must be True or False, got {allow_failed!r}")
    return list(names), allow_failed


@contextlib.contextmanager
def _working_dir_on_path() -> Iterator[None]:
    cwd = os.getcwd()
    added = cwd not in sys.path and "" not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        yield
    finally:
        if added and cwd in sys.path:
            sys.path.remove(cwd)


def import_custom_modules(cfg: dict) -> list[types.ModuleType]:
    """Import every module ``custom_imports`` lists; returns the imported modules."""
    names, allow_failed = custom_import_names(cfg)
    modules = []
    with _working_dir_on_path():
        for name in names:
            try:
                modules.append(importlib.import_module(name))
            except Exception as exc:  # the module's own code may raise anything while importing
                missing = isinstance(exc, ModuleNotFoundError) and exc.name is not None and (
                    name == exc.name or name.startswith(exc.name + "."))
                reason = (f"module {name!r} was not found (searched the working directory {os.getcwd()} and "
                          f"the installed packages)" if missing
                          else f"importing {name!r} failed: {type(exc).__name__}: {exc}")
                if allow_failed:
                    log.warning(f"custom_imports: {reason}; skipped (allow_failed_imports=True)")
                    continue
                raise ConfigError(f"custom_imports: {reason}. Fix the name, install the module, or set "
                                  f"custom_imports.allow_failed_imports=True") from None
    return modules


def defines_hooks(module: types.ModuleType, project: str = "mgx") -> bool:
    marker = f"{project}_impl"
    return any(hasattr(getattr(module, attr, None), marker) for attr in dir(module))


def register_custom_imports(cfg: dict, plugins: Any) -> list[types.ModuleType]:
    """Import ``custom_imports`` and register those with ``@hookimpl`` functions as run plugins.
    Returns the registered modules (unregister them with ``plugins.unregister_run_plugin``)."""
    registered = []
    for module in import_custom_modules(cfg):
        if defines_hooks(module) and plugins is not None:
            plugins.register_run_plugin(module, name=f"custom_imports:{module.__name__}")
            registered.append(module)
    return registered
