"""Python config files as in MMagic/mmengine.

A config is a Python file; its module-level names form the config. ``_base_``
(a path or a list of paths, relative to the file) is merged underneath, deeply;
a dict with ``_delete_=True`` replaces what it would merge into. Overrides
(``--cfg-options a.b=1 c=[1,2] d.0.e=x``) apply last, values parsed as Python
literals (anything else is taken as a string).
"""
from __future__ import annotations

import ast
import copy
import keyword
import math
import types
from pathlib import Path
from typing import Any, Iterable

from .errors import ConfigError

BASE_KEY = "_base_"
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

    def __init__(self, data: dict | None = None, filename: str = "<memory>") -> None:
        super().__init__(data or {})
        object.__setattr__(self, "filename", filename)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "filename":
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


def _is_config_value(name: str, value: Any) -> bool:
    if name.startswith("__") or (name.startswith("_") and name != BASE_KEY):
        return False
    return not isinstance(value, (types.ModuleType, types.FunctionType, type, types.BuiltinFunctionType))


def _exec_file(path: Path) -> dict:
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    try:
        code = compile(source, str(path), "exec")
    except SyntaxError as exc:
        line = (exc.text or "").rstrip("\n")
        raise ConfigError(f"syntax error in config {path}, line {exc.lineno}: {exc.msg}\n    {line}") from None
    namespace: dict[str, Any] = {"__file__": str(path), "__name__": "__mgx_config__"}
    try:
        exec(code, namespace)
    except Exception as exc:
        lineno = _error_line(exc, str(path))
        where = f", line {lineno}" if lineno else ""
        raise ConfigError(f"error while evaluating config {path}{where}: {type(exc).__name__}: {exc}") from None
    return {name: value for name, value in namespace.items() if _is_config_value(name, value)}


def _error_line(exc: BaseException, filename: str) -> int | None:
    tb = exc.__traceback__
    lineno = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            lineno = tb.tb_lineno
        tb = tb.tb_next
    return lineno


def _base_paths(raw: Any, path: Path) -> list[Path]:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, (list, tuple)) or not all(isinstance(item, str) for item in items):
        raise ConfigError(f"{path}: {BASE_KEY} must be a path or a list of paths, got {raw!r}")
    return [(path.parent / item).resolve() for item in items]


def _load_with_bases(path: Path, chain: tuple[Path, ...]) -> dict:
    if path in chain:
        cycle = " -> ".join(str(item) for item in (*chain[chain.index(path):], path))
        raise ConfigError(f"{BASE_KEY} files form a cycle: {cycle}")
    values = _exec_file(path)
    merged: dict = {}
    for base in _base_paths(values.pop(BASE_KEY, []), path):
        if not base.is_file():
            raise ConfigError(f"base config {base} (listed in {BASE_KEY} of {path}) does not exist")
        merged = merge(merged, _load_with_bases(base, (*chain, path)))
    return merge(merged, values)


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
    data = _load_with_bases(path.resolve(), ())
    for item in cfg_options:
        apply_option(data, item)
    return Config(to_config_dicts(data), filename=str(path))


# --- --cfg-options ----------------------------------------------------------------


def parse_value(text: str) -> Any:
    """A Python literal (``dict(a=1)`` calls included) when the text is one, else the text itself."""
    try:
        return _literal(ast.parse(text.strip(), mode="eval").body)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        # TypeError: e.g. an unhashable dict key such as {[1]: 2}; keep the text as given
        return text


def _literal(node: ast.AST) -> Any:
    """ast.literal_eval plus ``dict(key=value, ...)``, the way configs spell dicts."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" and not node.args:
        if any(item.arg is None for item in node.keywords):
            raise ValueError("dict(**x) is not a literal")
        return {item.arg: _literal(item.value) for item in node.keywords}
    if isinstance(node, ast.List):
        return [_literal(item) for item in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(_literal(item) for item in node.elts)
    if isinstance(node, ast.Dict):
        return {_literal(key): _literal(value) for key, value in zip(node.keys, node.values)}
    return ast.literal_eval(node)


def apply_option(data: dict, item: str) -> None:
    """Apply one ``key.path=value`` override in place (list indices allowed)."""
    if "=" not in item:
        raise ConfigError(f"--cfg-options item {item!r} has no '=': write KEY=VALUE, e.g. train_cfg.max_iters=100")
    key, _, raw = item.partition("=")
    parts = key.strip().split(".")
    if not key.strip() or any(not part for part in parts):
        raise ConfigError(f"--cfg-options item {item!r}: the key {key!r} is empty or has an empty part")
    top = parts[0]
    if not top.isidentifier() or keyword.iskeyword(top) or top.startswith("_"):
        # config files only keep such names as config keys, so `config show` could not write it back
        raise ConfigError(f"--cfg-options item {item!r}: the top-level key {top!r} must be a Python name, "
                          f"not a keyword and not starting with '_'")
    target: Any = data
    for depth, part in enumerate(parts[:-1]):
        target = _step(target, part, item, parts[: depth + 1])
    last = parts[-1]
    value = parse_value(raw)
    if isinstance(target, list):
        index = _index(last, target, item)
        target[index] = value
    elif isinstance(target, dict):
        target[last] = value
    else:
        raise ConfigError(f"--cfg-options item {item!r}: {'.'.join(parts[:-1])} is a {type(target).__name__}, "
                          f"not a dict or list")


def _step(target: Any, part: str, item: str, path: list[str]) -> Any:
    if isinstance(target, list):
        return target[_index(part, target, item)]
    if isinstance(target, dict):
        if part not in target:
            target[part] = {}
        return target[part]
    raise ConfigError(f"--cfg-options item {item!r}: {'.'.join(path[:-1]) or 'the config'} is a "
                      f"{type(target).__name__}, it has no key {part!r}")


def _index(part: str, target: list, item: str) -> int:
    try:
        index = int(part)
    except ValueError:
        raise ConfigError(f"--cfg-options item {item!r}: {part!r} indexes a list and must be an integer") from None
    if not -len(target) <= index < len(target):
        raise ConfigError(f"--cfg-options item {item!r}: index {index} is out of range for a list of {len(target)}")
    return index


# --- writing back ------------------------------------------------------------------


def dump_config(cfg: dict) -> str:
    """The config as Python source that ``load_config`` reads back to the same config."""
    lines = []
    for key, value in cfg.items():
        if not key.isidentifier() or keyword.iskeyword(key):
            raise ConfigError(f"config key {key!r} is not a Python name and cannot be written back")
        lines.append(f"{key} = {_format(value, 0)}")
    return "\n".join(lines) + "\n"


def _format(value: Any, indent: int) -> str:
    pad, inner = "    " * indent, "    " * (indent + 1)
    if isinstance(value, dict):
        if not value:
            return "dict()"
        if all(isinstance(key, str) and key.isidentifier() and not keyword.iskeyword(key) for key in value):
            items = [f"{key}={_format(item, indent + 1)}" for key, item in value.items()]
            if sum(len(item) for item in items) < 70 and not any("\n" in item for item in items):
                return "dict(" + ", ".join(items) + ")"
            return "dict(\n" + ",\n".join(inner + item for item in items) + f",\n{pad})"
        items = [f"{inner}{key!r}: {_format(item, indent + 1)}" for key, item in value.items()]
        return "{\n" + ",\n".join(items) + f",\n{pad}}}"
    if isinstance(value, (list, tuple)):
        open_, close = ("[", "]") if isinstance(value, list) else ("(", ")")
        if not value:
            return open_ + close
        parts = [_format(item, indent + 1) for item in value]
        trailing = "," if isinstance(value, tuple) and len(value) == 1 else ""
        if sum(len(part) for part in parts) < 60 and not any("\n" in part for part in parts):
            return open_ + ", ".join(parts) + trailing + close
        return open_ + "\n" + ",\n".join(inner + part for part in parts) + f",\n{pad}" + close
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return repr(value)
    raise ConfigError(f"config value {value!r} of type {type(value).__name__} cannot be written as Python")
