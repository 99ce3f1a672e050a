"""The mmengine 0.10 / MMagic 1.2 config dialect: reading one config file.

What a file may use beyond plain Python:

- ``_base_ = 'a.py'`` or a list of paths: read first; inside the file ``_base_``
  is then the merged base config as a namespace (``_base_.model.generator``,
  ``_base_['model']``), and changes made through it (``_base_.x.y = 1``) are
  kept, as in mmengine.
- ``{{_base_.a.b}}`` (quoted or not): the value of ``a.b`` in the bases.
- ``{{fileDirname}}``, ``{{fileBasename}}``, ``{{fileBasenameNoExtension}}``,
  ``{{fileExtname}}``: this file's folder, name, stem and suffix;
  ``{{$NAME:default}}``: environment variable NAME (or the default).
- The lazy-import form (``with read_base(): from .x import *``) needs mmengine's
  lazy import machinery; such a file gets one clear error.
"""
from __future__ import annotations

import ast
import os
import re
import types
from pathlib import Path
from typing import Any, Callable

from mgx.core.errors import ConfigError

BASE_KEY = "_base_"
_BASE_LOOKUP = "__mgx_base_value__"
_QUOTED_BASE_VAR = re.compile(r"""(['"])\{\{\s*_base_\.([\w.]+)\s*\}\}\1""")
_BASE_VAR = re.compile(r"\{\{\s*_base_\.([\w.]+)\s*\}\}")
_ENV_VAR = re.compile(r"\{\{\s*\$(\w+)\s*(?::\s*(.*?))?\s*\}\}")


def read_source(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None


def predefined_variables(path: Path) -> dict[str, str]:
    """mmengine's ``{{fileDirname}}`` & co. for ``path`` (forward slashes, as mmengine writes them)."""
    return {
        "fileDirname": str(path.parent).replace("\\", "/"),
        "fileBasename": path.name,
        "fileBasenameNoExtension": path.stem,
        "fileExtname": path.suffix,
    }


def substitute_text_variables(source: str, path: Path) -> str:
    """Replace the predefined ``{{...}}`` variables and ``{{$ENV:default}}`` in the file's text."""
    for name, value in predefined_variables(path).items():
        source = re.sub(r"\{\{\s*" + name + r"\s*\}\}", lambda _m, v=value: v, source)

    def environment(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is None:
            raise ConfigError(f"config {path} uses {{{{${name}}}}} but the environment variable {name} is not set "
                              f"(give a default: {{{{${name}:default}}}})")
        return default

    return _ENV_VAR.sub(environment, source)


def substitute_base_references(source: str) -> str:
    """``{{_base_.a.b}}`` (quoted or bare) becomes a lookup of ``a.b`` in the merged bases."""
    source = _QUOTED_BASE_VAR.sub(lambda m: f"{_BASE_LOOKUP}({m.group(2)!r})", source)
    return _BASE_VAR.sub(lambda m: f"{_BASE_LOOKUP}({m.group(1)!r})", source)


def parse(source: str, path: Path) -> ast.Module:
    try:
        return ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        line = (exc.text or "").rstrip("\n")
        raise ConfigError(f"syntax error in config {path}, line {exc.lineno}: {exc.msg}\n    {line}") from None


def reject_lazy_import(tree: ast.Module, path: Path) -> None:
    """The ``read_base()`` form executes imports lazily through mmengine; say so once, clearly."""
    for node in ast.walk(tree):
        uses_read_base = (
            (isinstance(node, ast.ImportFrom) and any(alias.name == "read_base" for alias in node.names))
            or (isinstance(node, ast.With) and any(
                isinstance(item.context_expr, ast.Call) and getattr(item.context_expr.func, "id", None) == "read_base"
                for item in node.items)))
        if uses_read_base:
            raise ConfigError(
                f"config {path}, line {node.lineno}: this is an mmengine lazy-import config "
                f"(`with read_base(): from ... import *`). That form needs mmengine's lazy import system, "
                f"which mgx does not support. Use the classic form instead: `_base_ = ['../x.py']` and "
                f"dict(type='Name', ...) components (MMagic ships both forms of most configs)")


def split_base_list(tree: ast.Module, path: Path) -> tuple[list[str], ast.Module]:
    """The ``_base_`` paths the file lists, and the module without that assignment
    (so that, while the file runs, ``_base_`` is the merged base namespace)."""
    paths: list[str] = []
    body = []
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
        if isinstance(target, ast.Name) and target.id == BASE_KEY:
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                raise ConfigError(f"{path}, line {node.lineno}: {BASE_KEY} must be a literal path or list of "
                                  f"paths") from None
            items = [value] if isinstance(value, str) else value
            if not isinstance(items, (list, tuple)) or not all(isinstance(item, str) for item in items):
                raise ConfigError(f"{path}: {BASE_KEY} must be a path or a list of paths, got {value!r}")
            paths.extend(items)
            continue
        body.append(node)
    return paths, ast.Module(body=body, type_ignores=tree.type_ignores)


def resolve_base_path(item: str, path: Path) -> Path:
    if "::" in item:
        package = item.split("::", 1)[0]
        raise ConfigError(f"{path}: base {item!r} is a package-scoped base ({package}::...), which needs "
                          f"{package} and mmengine's package lookup; copy that base file next to your config "
                          f"and list it by a relative path")
    return (path.parent / item).resolve()


def _lookup(namespace: dict, dotted: str, path: Path) -> Any:
    value: Any = namespace
    walked = [BASE_KEY]
    for part in dotted.split("."):
        try:
            value = value[int(part)] if isinstance(value, (list, tuple)) and part.lstrip("-").isdigit() else value[part]
        except (KeyError, IndexError, TypeError):
            raise ConfigError(f"config {path}: {{{{{BASE_KEY}.{dotted}}}}}: {'.'.join(walked)} has no "
                              f"{part!r}") from None
        walked.append(part)
    return value


def execute(module: ast.Module, path: Path, base_namespace: dict, wrap: Callable[[Any], Any]) -> dict:
    """Run the file with ``_base_`` bound to the (wrapped) merged bases; return its names.

    ``base_namespace`` is mutated by statements like ``_base_.x.y = 1``; the caller
    merges the returned names over it afterwards."""
    namespace: dict[str, Any] = {"__file__": str(path), "__name__": "__mgx_config__", BASE_KEY: base_namespace,
                                 _BASE_LOOKUP: lambda dotted: _lookup(base_namespace, dotted, path)}
    try:
        code = compile(module, str(path), "exec")
        exec(code, namespace)
    except ConfigError:
        raise
    except Exception as exc:
        lineno = _error_line(exc, str(path))
        where = f", line {lineno}" if lineno else ""
        hint = ""
        if isinstance(exc, (AttributeError, KeyError)) and BASE_KEY in _source_line(path, lineno):
            hint = f" (the bases define: {', '.join(sorted(map(str, base_namespace))) or 'nothing'})"
        raise ConfigError(f"error while evaluating config {path}{where}: {type(exc).__name__}: {exc}{hint}") from None
    return {name: value for name, value in namespace.items() if is_config_value(name, value)}


def is_config_value(name: str, value: Any) -> bool:
    if name.startswith("_"):
        return False
    return not isinstance(value, (types.ModuleType, types.FunctionType, type, types.BuiltinFunctionType))


def _source_line(path: Path, lineno: int | None) -> str:
    if not lineno:
        return ""
    try:
        return path.read_text(encoding="utf-8").splitlines()[lineno - 1]
    except (OSError, IndexError, UnicodeDecodeError):
        return ""


def _error_line(exc: BaseException, filename: str) -> int | None:
    tb = exc.__traceback__
    lineno = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            lineno = tb.tb_lineno
        tb = tb.tb_next
    return lineno
