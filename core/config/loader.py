"""Python config files as in MMagic/mmengine.

A config is a Python file; its module-level names form the config. ``_base_``
(a path or a list of paths, relative to the file) is merged underneath, deeply;
a dict with ``_delete_=True`` replaces what it would merge into. Overrides
(``--cfg-options a.b=1 c=[1,2] d.0.e=x``) apply last, values parsed as Python
literals (anything else is taken as a string).

The dialect details (``_base_`` as a namespace, ``{{...}}`` variables, the
lazy-import form) live in ``config_dialect``; overrides in ``config_options``;
writing back in ``config_dump``.
"""
from __future__ import annotations

import ast
import copy
from pathlib import Path
from typing import Any, Iterable

from mgx.core.config import dialect
from mgx.core.config.helpers import helper_override_warning
from mgx.core.config.keys import TOP_LEVEL_KEYS
from mgx.core.config.dump import dump_config
from mgx.core.config.options import apply_option, parse_value
from mgx.core.errors import ConfigError

BASE_KEY = dialect.BASE_KEY
DELETE_KEY = "_delete_"


class ConfigDict(dict):
    """A dict whose keys also read as attributes (``cfg.train_cfg.max_iters``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"config has no key {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __deepcopy__(self, memo: dict) -> "ConfigDict":
        return ConfigDict({key: copy.deepcopy(value, memo) for key, value in self.items()})


class Config(ConfigDict):
    """The resolved config of a file; ``filename`` is where it came from."""

    filename: str = "<memory>"
    load_warnings: list  # warnings found while reading (e.g. an override of a helper variable)
    helper_names: frozenset  # top-level names the file's own code reads (helper variables)

    def __init__(self, data: dict | None = None, filename: str = "<memory>") -> None:
        super().__init__(data or {})
        object.__setattr__(self, "filename", filename)
        object.__setattr__(self, "load_warnings", [])
        object.__setattr__(self, "helper_names", frozenset())

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("filename", "load_warnings", "helper_names"):
            object.__setattr__(self, name, value)
        else:
            self[name] = value


def to_config_dicts(value: Any) -> Any:
    """Recursively turn dicts into ConfigDicts (lists and tuples keep their type)."""
    if isinstance(value, dict):
        return ConfigDict({key: to_config_dicts(item) for key, item in value.items()})
    if isinstance(value, list):
        return [to_config_dicts(item) for item in value]
    if isinstance(value, tuple):
        return tuple(to_config_dicts(item) for item in value)
    return value


def to_plain(value: Any) -> Any:
    """The same data with plain dicts, for pickling-free serialisation."""
    if isinstance(value, dict):
        return {key: to_plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_plain(item) for item in value]
    if isinstance(value, tuple):
        return tuple(to_plain(item) for item in value)
    return value


# --- reading files --------------------------------------------------------------


def _names_read(tree: ast.Module) -> set[str]:
    """Every name the config's own code reads (``upscale_factor=scale`` reads ``scale``)."""
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}


def _load_with_bases(path: Path, chain: tuple[Path, ...], names_read: set[str] | None = None) -> dict:
    if path in chain:
        cycle = " -> ".join(str(item) for item in (*chain[chain.index(path):], path))
        raise ConfigError(f"{BASE_KEY} files form a cycle: {cycle}")
    source = dialect.substitute_text_variables(dialect.read_source(path), path)
    tree = dialect.parse(dialect.substitute_base_references(source), path)
    dialect.reject_lazy_import(tree, path)
    if names_read is not None:
        names_read.update(_names_read(tree))
    base_items, module = dialect.split_base_list(tree, path)
    merged: dict = {}
    for item in base_items:
        base = dialect.resolve_base_path(item, path)
        if not base.is_file():
            raise ConfigError(f"base config {base} (listed in {BASE_KEY} of {path}) does not exist")
        merged = merge(merged, _load_with_bases(base, (*chain, path), names_read))
    # while the file runs, `_base_` is the merged bases (attribute and item access); what the
    # file changes through it is kept, and the file's own names merge on top
    namespace = to_config_dicts(merged)
    values = dialect.execute(module, path, namespace, to_config_dicts)
    return merge(namespace, values)


def merge(base: Any, override: Any) -> Any:
    """Deep-merge ``override`` into ``base`` (both left untouched).

    Dicts merge key by key; ``_delete_=True`` in an override dict replaces the
    base dict instead. Everything else (lists included) is replaced.
    """
    if isinstance(override, dict):
        override = dict(override)
        replace = bool(override.pop(DELETE_KEY, False))
        if isinstance(base, dict) and not replace:
            result = {key: copy.deepcopy(value) for key, value in base.items()}
            for key, value in override.items():
                result[key] = merge(result.get(key), value) if key in result else merge(None, value)
            return result
        return {key: merge(None, value) for key, value in override.items()}
    return copy.deepcopy(override)


def load_config(path: str | Path, cfg_options: Iterable[str] = ()) -> Config:
    """Read a config file, resolve ``_base_`` and apply ``--cfg-options`` items."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"config path {path} is a folder; give a Python config file")
    names_read: set[str] = set()
    data = _load_with_bases(path.resolve(), (), names_read)
    warnings = []
    for item in cfg_options:
        warning = helper_override_warning(data, item, TOP_LEVEL_KEYS)
        if warning:
            warnings.append(warning)
        apply_option(data, item)
    cfg = Config(to_config_dicts(data), filename=str(path))
    object.__setattr__(cfg, "load_warnings", warnings)
    # top-level names the files' own code reads are helper variables, not misspelled keys
    object.__setattr__(cfg, "helper_names", frozenset(names_read & set(data)))
    return cfg


__all__ = ["Config", "ConfigDict", "load_config", "merge", "dump_config", "apply_option", "parse_value",
           "to_config_dicts", "to_plain", "BASE_KEY", "DELETE_KEY"]
