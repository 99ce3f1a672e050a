"""``--cfg-options KEY=VALUE`` items: parsing values and applying them to a config."""
from __future__ import annotations

import ast
import keyword
from typing import Any

from mgx.core.errors import ConfigError


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


