"""``pip install .`` gives a working ``mgx``: build the wheel, install it into a fresh
venv, and run the installed command from a folder outside the repository."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from foundation_helpers import REPO_ROOT, mgx_env, pip
from mgx import __version__

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

# Build from a copy so the build leaves nothing in the working tree.
COPY_IGNORE = shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.egg-info", "build", "dist", "tests",
                                     "work_dirs", "mlruns", "mlartifacts", "test-artifacts", ".pytest_cache")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    shutil.copytree(REPO_ROOT, source, ignore=COPY_IGNORE)
    result = pip("wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(work / "dist"), str(source))
    assert result.returncode == 0, result.stdout + result.stderr
    [built] = (work / "dist").glob("mgx-*.whl")
    return built


def test_wheel_contents(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert wheel.name == f"mgx-{__version__}-py3-none-any.whl"
    for required in ("mgx/__init__.py", "mgx/core/plugins.py", "mgx/core/hookspecs.py", "mgx/cli/main.py",
                     "mgx/cli/__main__.py", "mgx/plugins/__init__.py"):
        assert required in names
    # every source package of the repository is in the wheel (a folder without __init__.py would be lost)
    for folder in ("core", "plugins", "cli"):
        for path in (REPO_ROOT / folder).rglob("*.py"):
            if "__pycache__" not in path.parts:
                assert f"mgx/{path.relative_to(REPO_ROOT).as_posix()}" in names, f"{path} is missing from the wheel"
    assert not [name for name in names if name.startswith(("tests/", "mgx/tests/", "benchmarks/", "mgx/benchmarks/"))]
    assert "mgx/setup.py" not in names, "setup.py is packaged as the module mgx.setup"
    entry_points = zipfile.ZipFile(wheel).read(f"mgx-{__version__}.dist-info/entry_points.txt").decode()
    assert "mgx = mgx.cli.main:main" in entry_points


def test_installed_wheel_runs_from_a_fresh_venv(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)],
                   check=True, timeout=60)
    python = venv / "bin" / "python"
    # pip of this environment, running as the fresh interpreter, installs into the fresh venv
    result = pip("--python", str(python), "install", "--no-deps", "--no-index", str(wheel))
    assert result.returncode == 0, result.stdout + result.stderr
    # Dependencies (torch, click, pluggy, ...) come from this environment's site-packages, added
    # after the fresh venv's own; a .pth line adds the folder without running its .pth files,
    # so this environment's editable mgx finder stays out.
    fresh_site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                     capture_output=True, text=True, check=True).stdout.strip())
    (fresh_site / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    env = mgx_env(PYTHONNOUSERSITE="1")
    env.pop("PYTHONPATH", None)
    mgx = str(venv / "bin" / "mgx")

    where = subprocess.run([str(python), "-c", "import mgx, importlib.metadata as m; "
                                               "print(mgx.__file__); print(m.version('mgx'))"],
                           capture_output=True, text=True, cwd=cwd, env=env, timeout=60)
    assert where.returncode == 0, where.stderr
    module_file, version = where.stdout.split()
    assert Path(module_file).is_relative_to(venv), f"mgx was imported from {module_file}, not the wheel"
    assert version == __version__

    result = subprocess.run([mgx, "--version"], capture_output=True, text=True, cwd=cwd, env=env, timeout=60)
    assert (result.returncode, result.stdout) == (0, f"mgx, version {__version__}\n"), result.stderr
    result = subprocess.run([mgx, "plugins", "--json"], capture_output=True, text=True, cwd=cwd, env=env,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    builtins = [row for row in rows if row["builtin"]]
    assert builtins and all(row["version"] == __version__ for row in builtins)
    # what loads from the wheel loads from the repository too: packaging lost nothing
    repo_rows = json.loads(subprocess.run([sys.executable, "-m", "mgx.cli", "plugins", "--json"], capture_output=True,
                                          text=True, env=mgx_env(), timeout=120).stdout)
    assert _failures(rows) == _failures(repo_rows)
    assert os.listdir(cwd) == []  # nothing written to the working directory


def _failures(rows: list[dict]) -> dict[str, str]:
    return {row["name"]: row["error"] for row in rows if row["error"] and row["builtin"]}
