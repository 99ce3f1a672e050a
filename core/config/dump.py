"""Writing a resolved config back as Python source that loads to the same config."""
from __future__ import annotations

import keyword
import math
from typing import Any

from mgx.core.errors import ConfigError


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
