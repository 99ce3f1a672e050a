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


# --- the import graph, module sizes and function lengths (issue 17's "house" rules) ---------------

PACKAGES = ("core", "plugins", "cli")

# The modules of mgx.core a plugin may import: the API a third-party plugin has (docs/plugins.md,
# docs/architecture.md). Another core module becomes public by being documented there and added here.
PUBLIC_CORE_MODULES = frozenset({
    "mgx.core", "mgx.core.errors", "mgx.core.hookspecs", "mgx.core.registry", "mgx.core.plugins",
    "mgx.core.evaluation", "mgx.core.evaluation.metric",
    "mgx.core.distributed", "mgx.core.distributed.collectives", "mgx.core.distributed.launch",
    "mgx.core.engine.loops", "mgx.core.engine.optim", "mgx.core.engine.checkpoint_state", "mgx.core.run.context",
    "mgx.core.engine.speed", "mgx.core.engine.collate",
})

MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
# Functions over the limit that a change in progress is shortening (none now: the run skeleton,
# issue 17 item 3, split train() into RunSession and named steps).
KNOWN_LONG_FUNCTIONS_BEING_SHORTENED: dict[str, set[str]] = {}


def _module_name(path: Path) -> str:
    parts = ["mgx", *path.relative_to(REPO_ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _all_modules() -> dict[str, Path]:
    return {_module_name(path): path for folder in PACKAGES for path in _python_files(folder)}


def _top_level_statements(tree: ast.Module):
    """The statements that run when the module is imported: the module body, and the bodies of
    top-level ``if``/``try``/``with`` blocks — but not ``if TYPE_CHECKING:``."""
    pending = list(tree.body)
    while pending:
        node = pending.pop(0)
        yield node
        if isinstance(node, ast.If):
            if "TYPE_CHECKING" not in ast.unparse(node.test):
                pending += node.body + node.orelse
        elif isinstance(node, ast.Try):
            pending += node.body + node.orelse + node.finalbody + [s for h in node.handlers for s in h.body]
        elif isinstance(node, ast.With):
            pending += node.body


def _import_time_edges(path: Path, modules: dict[str, Path]) -> set[str]:
    """The mgx modules that importing ``path`` imports (``from pkg import sub`` counts as pkg.sub
    when ``sub`` is a module)."""
    package_parts = _module_name(path).split(".")
    if path.name != "__init__.py":
        package_parts = package_parts[:-1]
    targets: set[str] = set()
    for node in _top_level_statements(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = (".".join(package_parts[: len(package_parts) - node.level + 1] + ([node.module] if node.module else []))
                    if node.level else node.module or "")
            submodules = {f"{base}.{alias.name}" for alias in node.names} & set(modules)
            targets |= submodules or {base}
    return {name for name in targets if name in modules}


def _import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), as sorted lists."""
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = lowlink[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                lowlink[node] = min(lowlink[node], lowlink[target])
            elif target in on_stack:
                lowlink[node] = min(lowlink[node], index[target])
        if lowlink[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph.get(node, ()):
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_the_cycle_finder_finds_a_loop_and_only_a_loop():
    assert _import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _import_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_import_cycle_at_import_time():
    modules = _all_modules()
    graph = {name: _import_time_edges(path, modules) for name, path in modules.items()}
    assert graph["mgx.cli.main"], "the graph builder found no imports in mgx.cli.main"
    cycles = _import_cycles(graph)
    assert not cycles, "modules that import each other (at import time):\n" + "\n".join(
        " <-> ".join(cycle) for cycle in cycles)


def test_plugins_import_only_the_documented_public_core_modules():
    modules = _all_modules()
    offenders = [f"{path.relative_to(REPO_ROOT)} imports {name}"
                 for path in _python_files("plugins") for name in sorted(_every_mgx_import(path, modules))
                 if _is_under(name, "mgx.core") and name not in PUBLIC_CORE_MODULES]
    assert not offenders, ("plugins may import only mgx.core's public modules (PUBLIC_CORE_MODULES, documented "
                           "in docs/architecture.md):\n" + "\n".join(offenders))


def _every_mgx_import(path: Path, modules: dict[str, Path]) -> set[str]:
    """Like ``_import_time_edges`` but over every import statement (functions included)."""
    package_parts = _module_name(path).split(".")
    if path.name != "__init__.py":
        package_parts = package_parts[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = (".".join(package_parts[: len(package_parts) - node.level + 1] + ([node.module] if node.module else []))
                    if node.level else node.module or "")
            found |= ({f"{base}.{alias.name}" for alias in node.names} & set(modules)) or {base}
    return {name for name in found if _is_under(name, "mgx")}


def test_no_module_is_longer_than_500_lines():
    long_modules = [f"{path.relative_to(REPO_ROOT)}: {count} lines" for folder in PACKAGES
                    for path in _python_files(folder)
                    if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES]
    assert not long_modules, f"modules over {MAX_MODULE_LINES} lines (split them by concern):\n" + "\n".join(long_modules)


def test_no_function_is_longer_than_80_lines():
    long_functions = []
    for folder in PACKAGES:
        for path in _python_files(folder):
            relative = path.relative_to(REPO_ROOT).as_posix()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
                if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES and node.name not in KNOWN_LONG_FUNCTIONS_BEING_SHORTENED.get(relative, ()):
                    long_functions.append(f"{relative}:{node.lineno} {node.name}: {length} lines")
    assert not long_functions, f"functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(long_functions)


def test_the_cli_reaches_plugins_only_through_the_registry():
    """The CLI names the built-in plugin package (to load it) and nothing inside it: commands such
    as ``mgx sweep`` use a launcher through the launcher contract, so any plugin's works."""
    offenders = [f"{path.relative_to(REPO_ROOT)}:{line} imports {name}"
                 for path in _python_files("cli") for line, name in _imports(path)
                 if _is_under(name, "mgx.plugins") and name != "mgx.plugins"]
    assert not offenders, "\n".join(offenders)
