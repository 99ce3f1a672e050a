"""On a terminal a progress bar redraws one line (iteration, rate, ETA, losses); the text log keeps plain lines."""
from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from pathlib import Path

import pytest

from engine_helpers import mgx_command, mgx_env, write_tiny_config


@pytest.mark.timeout(300)
def test_progress_bar_on_a_tty_and_plain_lines_in_the_log(tmp_path: Path) -> None:
    config = write_tiny_config(tmp_path, max_iters=6, val_interval=100, ckpt_interval=100)
    work = tmp_path / "work"
    controller, terminal = pty.openpty()
    process = subprocess.Popen(mgx_command("run", "train", str(config), "--work-dir", str(work), "--no-track"),
                               cwd=tmp_path, env=mgx_env(), stdin=terminal, stdout=terminal, stderr=terminal)
    os.close(terminal)
    output = b""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
        elif process.poll() is not None:
            break
    process.wait(timeout=60)
    os.close(controller)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text
    assert "\r" in text and "█" in text and "eta:" in text and "train/loss_disc:" in text, text[-2000:]
    log_text = next(work.glob("*.log")).read_text()
    assert "Iter [5/6]" in log_text and "Iter [6/6]" in log_text
    assert "█" not in log_text and "\r" not in log_text
