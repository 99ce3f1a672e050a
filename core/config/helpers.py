"""``--cfg-options`` on helper variables.

A config's top-level helper names (``metrics = [...]``, ``train_pipeline``,
``data_root``) are copied into the keys that use them while the file runs, so
overriding the helper afterwards changes only the helper. This module finds
the keys that were derived from a helper, so the override can say which keys
to change instead.
"""
from __future__ import annotations

from typing import Any, Iterator

MIN_STRING = 4  # shorter strings (e.g. 'gt') match by accident


def _walk(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}.{index}")


def derived_from(data: dict, name: str) -> list[str]:
    """Paths of other top-level keys whose value equals ``data[name]`` (a dict, list or string),
    or, for a string, contains it."""
    helper = data.get(name)
    if isinstance(helper, str):
        if len(helper) < MIN_STRING:
            return []
    elif not isinstance(helper, (dict, list, tuple)) or not helper:
        return []
    found = []
    for key, value in data.items():
        if key == name:
            continue
        for path, item in _walk(value, key):
            if item == helper or (isinstance(helper, str) and isinstance(item, str) and helper in item):
                found.append(path)
    return found


def helper_override_warning(data: dict, item: str, known_keys: Any) -> str | None:
    """A warning for ``item`` when it targets a helper that other keys were derived from."""
    key = item.partition("=")[0].strip()
    top, _, rest = key.partition(".")
    if top in known_keys or top not in data:
        return None
    paths = derived_from(data, top)
    if not paths:
        return None
    suggestions = " ".join(f"{path}{'.' + rest if rest else ''}=..." for path in paths[:4])
    more = f" (and {len(paths) - 4} more)" if len(paths) > 4 else ""
    return (f"--cfg-options {item}: {top!r} is a helper variable; {', '.join(paths[:4])}{more} were built from it "
            f"when the config file was read and keep their old value. Override those instead: "
            f"--cfg-options {suggestions}")
