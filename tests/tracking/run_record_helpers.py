"""Helpers for the run-record tests (--from-run, --resume-run, registered models): real `mgx`
subprocesses over tiny configs from the engine tests, and checkpoint comparison."""
from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

ENGINE_TESTS = Path(__file__).resolve().parents[1] / "engine"
if str(ENGINE_TESTS) not in sys.path:
    sys.path.insert(0, str(ENGINE_TESTS))

from engine_helpers import mgx_command, mgx_env, run_mgx, write_tiny_config  # noqa: E402
from nested_equal import assert_identical  # noqa: E402 (shared with the engine tests)


def load_state(path: Path) -> dict:
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


def train_then_sigterm(cwd: Path, config: Path, work_dir: Path, after_iteration: int, *extra: str) -> str:
    """Start a tracked training and stop it with a real SIGTERM once iteration ``after_iteration``
    is logged (it saves a checkpoint, uploads it as the last one, and ends its run as KILLED).
    Returns the process's stderr."""
    process = subprocess.Popen(mgx_command("run", "train", str(config), "--work-dir", str(work_dir),
                                           "--cfg-options", "default_hooks.logger.interval=1", *extra),
                               cwd=cwd, env=mgx_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    while not any(f"Iter [{after_iteration}/" in line for line in lines):
        line = process.stderr.readline()
        assert line, "the run ended before the stop point: " + "".join(lines)
        lines.append(line)
    process.send_signal(signal.SIGTERM)
    _, rest = process.communicate(timeout=120)
    assert process.returncode == 143, "".join(lines) + rest
    return "".join(lines) + rest


__all__ = ["assert_identical", "load_state", "mgx_command", "mgx_env", "run_mgx", "train_then_sigterm",
           "write_tiny_config"]
