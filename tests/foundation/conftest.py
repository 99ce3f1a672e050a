"""Shared helpers for the foundation tests: the real ``mgx`` command, click's
CliRunner, throw-away plugin modules, and the pip-installed fixture distributions."""
from __future__ import annotations

import importlib
import shutil
import sys
import textwrap

import pytest
from click.testing import CliRunner

import mgx.core.registry as registry_module
from foundation_helpers import FIXTURE_DISTRIBUTIONS, FIXTURES, MGX_BEHAVIOUR_ENV, pip, uninstall_fixture_distributions


@pytest.fixture(autouse=True)
def clean_mgx_env(monkeypatch):
    """No test here inherits MGX_DISABLE_PLUGINS / MGX_PLUGINS / MGX_DEBUG from the shell."""
    for name in MGX_BEHAVIOUR_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def restore_registry_source():
    """Put back whichever registry ``build`` consulted before the test."""
    saved = registry_module._activate_callback, registry_module._active
    yield
    registry_module._activate_callback, registry_module._active = saved


@pytest.fixture
def invoke(restore_registry_source):
    """``invoke(args, env=...)`` runs ``mgx`` in-process with CliRunner and a fresh plugin manager."""
    from mgx.cli.context import plugin_manager
    from mgx.cli.main import cli

    def _invoke(args: list[str], env: dict[str, str] | None = None):
        plugin_manager.cache_clear()
        try:
            return CliRunner().invoke(cli, args, env=env, prog_name="mgx")
        finally:
            plugin_manager.cache_clear()

    return _invoke


@pytest.fixture
def plugin_modules(tmp_path, monkeypatch):
    """``plugin_modules(name=source, ...)`` writes importable plugin modules for one test."""
    folder = tmp_path / "plugin_modules"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    written: list[str] = []

    def _write(**modules: str) -> list[str]:
        for name, source in modules.items():
            (folder / f"{name}.py").write_text(textwrap.dedent(source))
            written.append(name)
        importlib.invalidate_caches()
        return list(modules)

    yield _write
    for name in written:
        sys.modules.pop(name, None)


@pytest.fixture(scope="module")
def installed_fixture_plugins(tmp_path_factory):
    """pip-install the three fixture distributions into this environment; always uninstall them."""
    sources = tmp_path_factory.mktemp("fixture_sources")
    paths = []
    for folder in FIXTURE_DISTRIBUTIONS:
        # build from a copy so pip's in-tree build leaves no build/ or egg-info in the repository
        target = sources / folder
        shutil.copytree(FIXTURES / folder, target, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        paths.append(str(target))
    uninstall_fixture_distributions()  # leftovers of an interrupted earlier run
    try:
        result = pip("install", "--no-deps", "--no-build-isolation", *paths)
        assert result.returncode == 0, f"pip install of the fixture plugins failed:\n{result.stdout}\n{result.stderr}"
        importlib.invalidate_caches()
        yield FIXTURE_DISTRIBUTIONS
    finally:
        uninstall_fixture_distributions()
