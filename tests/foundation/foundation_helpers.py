"""Helpers the foundation tests import (a uniquely named module: several test
folders have a conftest.py, so ``import conftest`` would be ambiguous)."""
from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "tests" / "fixtures"
FIXTURE_DISTRIBUTIONS = {
    # folder -> (distribution name, top-level import package)
    "mgx-fixture-plugin": ("mgx-fixture-plugin", "mgx_fixture_plugin"),
    "mgx-broken-plugin": ("mgx-broken-plugin", "mgx_broken_plugin"),
    "mgx-badhook-plugin": ("mgx-badhook-plugin", "mgx_badhook_plugin"),
}


# variables that change which plugins load or how errors print
MGX_BEHAVIOUR_ENV = ("MGX_DISABLE_PLUGINS", "MGX_PLUGINS", "MGX_DEBUG")


def mgx_env(**extra: str) -> dict[str, str]:
    """This process's environment without variables that change mgx's behaviour."""
    env = {key: value for key, value in os.environ.items() if key not in MGX_BEHAVIOUR_ENV}
    env.update(extra)
    return env


def mgx_executable() -> str:
    """The ``mgx`` console script of the environment running the tests."""
    script = Path(sys.executable).parent / "mgx"
    assert script.exists(), f"{script} is missing: run `pip install -e .` in this environment"
    return str(script)


def run_mgx(*args: str, env: dict[str, str] | None = None, cwd: str | Path | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess:
    """Run the real ``mgx`` command; entry points are read from installed metadata."""
    return subprocess.run([mgx_executable(), *args], capture_output=True, text=True, timeout=timeout,
                          env=env if env is not None else mgx_env(), cwd=cwd)


def pip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args],
                          capture_output=True, text=True, timeout=180)


def uninstall_fixture_distributions() -> None:
    pip("uninstall", "-y", *(dist for dist, _ in FIXTURE_DISTRIBUTIONS.values()))
    for _, package in FIXTURE_DISTRIBUTIONS.values():
        for module in [name for name in sys.modules if name == package or name.startswith(package + ".")]:
            del sys.modules[module]
    importlib.invalidate_caches()
