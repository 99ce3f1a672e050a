"""``mgx`` as a user runs it: a subprocess in the folder the config's relative data roots are under."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run_mgx(*args: str, cwd: Path, env: dict) -> "subprocess.CompletedProcess[str]":
    """``python -m mgx.cli ARGS`` in ``cwd`` (where the configs' relative data roots are)."""
    return subprocess.run([sys.executable, "-m", "mgx.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)
