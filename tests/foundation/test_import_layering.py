"""The layering rules: core/ imports neither mgx.plugins nor mgx.cli; plugins/ use only
mgx.core's public modules (never mgx.cli). Checked on the source with ``ast``, every
import statement, including those inside functions."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from foundation_helpers import REPO_ROOT


def _imports(path: Path, source: str | None = None) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in a module of the mgx package."""
    # the package a module (or an __init__.py) belongs to, e.g. ["mgx", "core"]
    package_parts = ["mgx", *path.relative_to(REPO_ROOT).parts[:-1]]
    source = path.read_text(encoding="utf-8") if source is None else source
    found = []
    for node in ast.walk(ast.parse(source, filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                base = package_parts[: len(package_parts) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
                names = [module] if node.module else [f"{module}.{alias.name}" for alias in node.names]
            else:
                names = [node.module or ""]
                # `from mgx import cli` imports mgx.cli
                if node.module == "mgx":
                    names = [f"mgx.{alias.name}" for alias in node.names]
            found += [(node.lineno, name) for name in names]
    return found


def _python_files(folder: str) -> list[Path]:
    return sorted(path for path in (REPO_ROOT / folder).rglob("*.py") if "__pycache__" not in path.parts)


def _is_under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_relative_imports_resolve_against_the_package():
    assert "mgx.core.errors" in [name for _, name in _imports(REPO_ROOT / "core" / "registry.py")]
    assert "mgx.core.hookspecs" in [name for _, name in _imports(REPO_ROOT / "core" / "__init__.py", "from .hookspecs import hookimpl")]


def test_core_imports_neither_plugins_nor_cli():
    files = _python_files("core")
    assert files
    offenders = [f"{path.relative_to(REPO_ROOT)}:{line} imports {name}"
                 for path in files for line, name in _imports(path)
                 if _is_under(name, "mgx.plugins") or _is_under(name, "mgx.cli")]
    assert not offenders, "core/ must not import mgx.plugins or mgx.cli:\n" + "\n".join(offenders)


def test_plugins_use_only_public_core_modules():
    files = _python_files("plugins")
    assert files
    offenders = []
    for path in files:
        for line, name in _imports(path):
            where = f"{path.relative_to(REPO_ROOT)}:{line} imports {name}"
            if _is_under(name, "mgx.cli"):
                offenders.append(where + " (plugins must not use the CLI)")
            elif _is_under(name, "mgx.core") and any(part.startswith("_") for part in name.split(".")[2:]):
                offenders.append(where + " (a private mgx.core module)")
            elif _is_under(name, "mgx") and not (_is_under(name, "mgx.core") or _is_under(name, "mgx.plugins")
                                                 or name == "mgx"):
                offenders.append(where + " (only mgx.core is public API for plugins)")
    assert not offenders, "\n".join(offenders)


def test_cli_may_use_both():
    names = {name for path in _python_files("cli") for _, name in _imports(path)}
    assert any(_is_under(name, "mgx.core") for name in names)
    assert any(_is_under(name, "mgx.plugins") for name in names)


@pytest.mark.parametrize("source, expected", [
    ("from ..cli import main", "mgx.cli"),
    ("from . import x", "mgx.core.x"),
    ("import mgx.cli.main", "mgx.cli.main"),
    ("from mgx import cli", "mgx.cli"),
])
def test_the_checker_resolves_every_import_form(source, expected):
    probe = REPO_ROOT / "core" / "layering_probe.py"  # never written: the source is passed in
    assert [name for _, name in _imports(probe, source)] == [expected]
