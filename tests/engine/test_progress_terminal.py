"""The console at real terminal widths (a pty of 80 and 120 columns): no line is wider than the
terminal, validation results start on their own line, and a validation shows how far it is."""
from __future__ import annotations

import fcntl
import logging
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest

from engine_helpers import mgx_command, mgx_env
from mgx.core.run import progress
CONFIG = """
model = dict(type='DCGAN', latent_dim=8, image_size=16, channels=3, base_channels=8)
ema_config = dict(momentum=0.9, interval=1)
train_dataloader = dict(batch_size=16, drop_last=True,
    dataset=dict(type='DigitsDataset', image_size=16, split='train', pipeline=[dict(type='PackInputs')]),
    sampler=dict(type='InfiniteSampler', shuffle=True))
optim_wrapper = dict(generator=dict(optimizer=dict(type='Adam', lr=1e-3)),
                     discriminator=dict(optimizer=dict(type='Adam', lr=1e-3)))
train_cfg = dict(by_epoch=False, max_iters=4, val_begin=1, val_interval=2)
val_dataloader = dict(batch_size=16,
    dataset=dict(type='DigitsDataset', image_size=16, split='val', pipeline=[dict(type='PackInputs')]),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Evaluator', metrics=[
    dict(type='SWD', prefix='SWD', fake_nums=64, image_shape=(3, 16, 16)),
    dict(type='MS_SSIM', prefix='MS-SSIM', fake_nums=32)])
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2, save_best='SWD/avg'))
randomness = dict(seed=7)
"""


def run_in_terminal(args: list[str], cwd: Path, columns: int, rows: int = 40) -> str:
    """``mgx ARGS`` with stdin/stdout/stderr on a pty of the given size; everything it printed."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    process = subprocess.Popen(mgx_command(*args), cwd=cwd, env=mgx_env(COLUMNS="", LINES=""), stdin=terminal,
                               stdout=terminal, stderr=terminal)
    os.close(terminal)
    output = b""
    deadline = time.monotonic() + 280
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
    assert process.returncode == 0, text[-3000:]
    return text


def screen(text: str, width: int) -> tuple[list[str], list[str]]:
    """What a terminal of ``width`` columns ends up showing, line by line (\\r returns to column 0,
    ESC[K clears to the end of the line); and every line that reached past the last column."""
    lines, overflowing = [], []
    cells: list[str] = []
    column = 0
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\x1b":
            match = re.match(r"\x1b\[([0-9;?]*)([A-Za-z])", text[index:])
            if match:
                if match.group(2) == "K":
                    del cells[column:]
                index += len(match.group(0))
                continue
        if char == "\n":
            lines.append("".join(cells))
            cells, column = [], 0
        elif char == "\r":
            column = 0
        else:
            if column < len(cells):
                cells[column] = char
            else:
                cells.append(char)
            column += 1
            if column == width + 1:
                overflowing.append("".join(cells))
        index += 1
    if cells:
        lines.append("".join(cells))
    return lines, overflowing


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("columns", [80, 120])
def test_console_fits_the_terminal_and_validation_lines_stand_alone(columns: int, tmp_path: Path) -> None:
    config = tmp_path / "tiny_val.py"
    config.write_text(CONFIG)
    raw = run_in_terminal(["run", "train", str(config), "--work-dir", str(tmp_path / "work"), "--no-track"],
                          tmp_path, columns)
    lines, overflowing = screen(raw, columns)
    assert overflowing == [], "\n".join(overflowing)
    # each validation result begins a line of its own (not glued onto the bar)
    results = [line for line in lines if "SWD/avg: " in line and "Iter(val)" in line]
    assert len(results) == 2, "\n".join(lines)
    assert all(re.match(r"Iter\(val\) \[[24]\]  SWD/", line) for line in results), "\n".join(results)
    # the bar was drawn and fitted: iteration, percentage, losses under their MLflow names (as room allows)
    assert re.search(r"Iter \[4/4\] [█·]+ 100%", raw)
    if columns >= 120:
        assert "train/loss_disc: " in raw
    # every interval line is on screen, above the bar, wrapped to the width: all the losses of each
    # logged iteration can be read at any width (the bar alone had room for none of them at 80)
    shown = "\n".join(lines)
    for iteration in (1, 2, 3, 4):
        interval = re.search(rf"^Iter \[{iteration}/4\]  [\d.]+ it/s  eta: [\d:]+  (.*?)(?=^\S)", shown + "\n.",
                             re.M | re.S)
        assert interval, shown
        assert "train/loss_disc: " in interval.group(1) and "train/loss_gen: " in interval.group(1), shown
    # the validation showed how far it was while it ran (item 8)
    assert re.search(r"Iter\(val\) \[2\] SWD, MS-SSIM: generated images \(ema\)\s+\d+/64", raw), raw[-3000:]
    assert re.search(r"Iter\(val\) \[2\] SWD: dataset batches\s+\d+/\d+", raw)
    # the text log keeps full, unwrapped lines and no terminal control characters
    log_text = next((tmp_path / "work").glob("*.log")).read_text()
    assert "\r" not in log_text and "\x1b" not in log_text and "█" not in log_text
    assert re.search(r"Iter\(val\) \[4\]  SWD/16: \S+  SWD/avg: \S+  MS-SSIM/avg: \S+", log_text)


def test_off_a_terminal_a_long_evaluation_logs_how_far_it_is(caplog) -> None:
    logger = logging.getLogger("mgx.test_progress")
    with caplog.at_level(logging.INFO, logger="mgx.test_progress"):
        with progress.evaluation_progress("Iter(val) [500]", logger) as shown:
            shown.log_every_s = 0.0  # a line at every report (30 s by default)
            for done in range(0, 10_000, 2_500):
                progress.report("FID-Full-50k: generated images (ema)", done, 10_000)
        progress.report("ignored: nothing is shown now", 1, 2)
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 4
    assert lines[1].startswith("Iter(val) [500] FID-Full-50k: generated images (ema)  2500/10000")
    assert "25%" in lines[1] and "eta: " in lines[1]


def test_bar_and_wrapped_lines_fit_any_width() -> None:
    values = {f"train/loss_{i}": 0.123456 for i in range(12)}
    bar = progress.Progress(1000, 0, logging.getLogger("mgx.test_progress"), enabled=False)
    for width in (20, 40, 79, 119, 250):
        assert len(bar.bar_text(500, values, width)) <= width
        wrapped = progress.wrap_to_width("Iter(val) [500]  " + "  ".join(f"SWD/{2**i}: 1.2345" for i in range(9)),
                                         width)
        assert all(len(line) <= width for line in wrapped.splitlines())
