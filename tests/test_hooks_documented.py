"""Every hookspec is documented in docs/plugins.md and exercised by some test.

"Documented": a heading naming the hook or the hook in backticks/code. "Exercised":
its name appears in a file under tests/ other than this one (test code calling
or implementing it). A new hook without both fails here with the list of what
is missing.
"""
from __future__ import annotations

import re
from pathlib import Path

from mgx.core import hookspecs
REPO_ROOT = Path(__file__).resolve().parents[1]
PLUGIN_DOCS = REPO_ROOT / "docs" / "plugins.md"
SCANNED_SUFFIXES = {".py", ".toml", ".cfg", ".txt", ".md"}


def hook_names() -> list[str]:
    """Names of the hookspecs (functions marked with ``@hookspec`` in mgx.core.hookspecs)."""
    marker = f"{hookspecs.PROJECT_NAME}_spec"
    return sorted(name for name, value in vars(hookspecs).items() if callable(value) and hasattr(value, marker))


def _test_sources() -> dict[Path, str]:
    this_file = Path(__file__).resolve()
    sources = {}
    for path in (REPO_ROOT / "tests").rglob("*"):
        if path.suffix in SCANNED_SUFFIXES and path.is_file() and path.resolve() != this_file \
                and "__pycache__" not in path.parts:
            sources[path] = path.read_text(encoding="utf-8", errors="replace")
    return sources


def test_hookspecs_are_found():
    names = hook_names()
    assert set(hookspecs.REGISTRATION_HOOKS) <= set(names)
    assert "mgx_before_run" in names and "mgx_after_run" in names


def test_every_hook_is_documented_in_plugins_md():
    text = PLUGIN_DOCS.read_text(encoding="utf-8")
    headings = {line.lstrip("#").strip().strip("`") for line in text.splitlines() if line.startswith("#")}
    missing = [name for name in hook_names()
               if name not in headings and not re.search(rf"`{name}\b|\bdef {name}\(", text)]
    assert not missing, (f"hooks not documented in {PLUGIN_DOCS.relative_to(REPO_ROOT)} "
                         f"(add a '### name' section with an example): {', '.join(missing)}")


def test_every_hook_is_exercised_by_a_test():
    sources = _test_sources()
    missing = [name for name in hook_names()
               if not any(re.search(rf"\b{name}\b", text) for text in sources.values())]
    assert not missing, ("hooks that no file under tests/ (other than this meta-test) mentions — "
                         "write a test that calls or implements each: " + ", ".join(missing))
