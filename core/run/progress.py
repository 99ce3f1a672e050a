"""What the terminal shows while a run works: a status line that fits the terminal, and
log lines that never mix with it.

On a TTY one status line at the bottom is redrawn in place: the training bar
(iteration, rate, ETA, latest losses) or, during an evaluation, which data it is
going through and how far it is. It is cut to the terminal's width (read at every
draw, so resizing works). Log lines printed meanwhile (validation results,
warnings) first clear the status line, so each starts on its own line, and are
wrapped to the width; the status line is drawn again below them.

Interval lines (iteration, rate, ETA, every loss) are logged at each logger
interval: on a TTY above the bar, wrapped to the width. Off a TTY there is no
status line, and an evaluation that runs for long logs how far it is every
``EVAL_LOG_EVERY_S`` seconds.

Evaluation code reports progress through :func:`report` (a no-op unless an
evaluation is being shown), so metrics need no handle on the display.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import textwrap
import threading
import time
from typing import Any, Iterator

DRAWS_PER_SECOND = 5
EVAL_LOG_EVERY_S = 30.0


def format_duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def terminal_width(stream: Any = None, default: int = 80) -> int:
    """Columns of the terminal ``stream`` (stderr) is on; ``default`` when unknown or 0."""
    stream = stream or sys.stderr
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (OSError, AttributeError, ValueError):
        columns = 0
    if columns <= 0:
        columns = int(os.environ.get("COLUMNS", 0) or 0) or default
    return max(20, columns)


def fit(parts: list[str], width: int, separator: str = "  ") -> str:
    """Join ``parts`` while they fit in ``width`` columns; the first part is always kept (cut if needed)."""
    line = parts[0] if parts else ""
    for part in parts[1:]:
        if len(line) + len(separator) + len(part) > width:
            break
        line += separator + part
    return line[:width]


def bar(fraction: float, width: int) -> str:
    filled = int(width * min(max(fraction, 0.0), 1.0))
    return "█" * filled + "·" * (width - filled)


CONTINUATION = "    "


def _wrap_fields(line: str, width: int) -> list[str]:
    """Break ``line`` at its two-space field separators (``key: value  key: value``) so a key
    stays with its value; a field wider than the line is broken at its own spaces."""
    rows: list[str] = []
    current = ""
    for field in line.split("  "):
        candidate = f"{current}  {field}" if current else (CONTINUATION if rows else "") + field
        if len(candidate) <= width:
            current = candidate
            continue
        if current:
            rows.append(current)
        indent = CONTINUATION if rows else ""
        current = indent + field
        if len(current) > width:
            pieces = textwrap.wrap(field, width=width, initial_indent=indent, subsequent_indent=CONTINUATION,
                                   break_on_hyphens=False)
            rows += pieces[:-1]
            current = pieces[-1]
    rows.append(current)
    return rows


def wrap_to_width(text: str, width: int) -> str:
    """Every line of ``text`` at most ``width`` columns; continuation lines are indented."""
    lines = []
    for line in text.split("\n"):
        lines += [line] if len(line) <= width else _wrap_fields(line, width)
    return "\n".join(lines)


class StatusLine:
    """The one line at the bottom of a TTY that is redrawn in place."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.text = ""  # what the line shows now ("" = nothing)
        self.lock = threading.RLock()
        self._last_draw = 0.0

    def width(self) -> int:
        return terminal_width(self.stream) - 1  # never the last column: some terminals wrap there

    def due(self) -> bool:
        return time.perf_counter() - self._last_draw >= 1.0 / DRAWS_PER_SECOND

    def show(self, text: str) -> None:
        with self.lock:
            self._last_draw = time.perf_counter()
            self.text = text[: self.width()]
            self.stream.write(f"\r{self.text}\x1b[K")
            self.stream.flush()

    def clear(self) -> None:
        with self.lock:
            if self.text:
                self.stream.write("\r\x1b[K")
                self.stream.flush()

    def forget(self) -> None:
        """Leave the line on screen as it is and start a new one below it."""
        with self.lock:
            if self.text:
                self.stream.write("\n")
                self.stream.flush()
            self.text = ""

    def write_above(self, text: str) -> None:
        """Write log text: the status line is cleared first and drawn again after it."""
        with self.lock:
            self.clear()
            body = wrap_to_width(text.rstrip("\n"), self.width()) + ("\n" if text.endswith("\n") else "")
            self.stream.write(body)
            if self.text:
                self.stream.write(f"\r{self.text}\x1b[K")
            self.stream.flush()


class _AboveStatusLine:
    """A stream for the console log handler that writes above the status line."""

    def __init__(self, status: StatusLine, original: Any) -> None:
        self.status = status
        self.original = original

    def write(self, text: str) -> int:
        self.status.write_above(text)
        return len(text)

    def flush(self) -> None:
        self.original.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.original, name)


_status: StatusLine | None = None


def status_line() -> StatusLine:
    """The process's status line on stderr (one per process: the bar and evaluations share it)."""
    global _status
    if _status is None or _status.stream is not sys.stderr:
        _status = StatusLine(sys.stderr)
    return _status


def console_stream() -> Any:
    """The stream for the console log handler on a TTY: lines fit the width and never mix
    with the status line."""
    return _AboveStatusLine(status_line(), sys.stderr)


class Progress:
    """The training bar (TTY) and the interval lines (text log; the console too off a TTY)."""

    def __init__(self, total: int, start: int, logger, enabled: bool = True) -> None:
        self.total = total
        self.start_iteration = start
        self.logger = logger
        self.tty = enabled and sys.stderr.isatty()
        self.started = time.perf_counter()
        self.status = status_line() if self.tty else None

    def rate(self, iteration: int) -> float:
        elapsed = time.perf_counter() - self.started
        done = iteration - self.start_iteration
        return done / elapsed if elapsed > 0 and done > 0 else 0.0

    def eta(self, iteration: int) -> float:
        rate = self.rate(iteration)
        return (self.total - iteration) / rate if rate else 0.0

    def line(self, iteration: int, values: dict[str, float]) -> str:
        shown = "  ".join(f"{key}: {value:.4g}" for key, value in values.items())
        return (f"Iter [{iteration}/{self.total}]  {self.rate(iteration):.2f} it/s  "
                f"eta: {format_duration(self.eta(iteration))}  {shown}")

    def log(self, iteration: int, values: dict[str, float]) -> None:
        """An interval line, to the log file and the terminal. On a TTY it is printed above the
        bar, wrapped to the width: the bar has room for few losses at 80 columns, and a user
        watching a long training must see every loss, not only progress and ETA."""
        self.logger.info(self.line(iteration, values))
        if self.tty:
            self.draw(iteration, values, force=True)

    def draw_due(self) -> bool:
        """Whether the bar would redraw now (at most 5 times a second, on a TTY)."""
        return self.status is not None and self.status.due()

    def bar_text(self, iteration: int, values: dict[str, float], width: int) -> str:
        head = f"Iter [{iteration}/{self.total}]"
        fraction = iteration / max(self.total, 1)
        bar_width = 24 if width >= 100 else 10
        parts = [f"{head} {bar(fraction, bar_width)} {fraction:4.0%}",
                 f"{self.rate(iteration):.2f} it/s", f"eta: {format_duration(self.eta(iteration))}"]
        parts += [f"{key}: {value:.4g}" for key, value in values.items()]
        return fit(parts, width)

    def draw(self, iteration: int, values: dict[str, float], force: bool = False) -> None:
        if self.status is None or (not force and not self.status.due()):
            return
        self.status.show(self.bar_text(iteration, values, self.status.width()))

    def close(self) -> None:
        if self.status is not None:
            self.status.forget()  # the last bar stays on screen
            self.status = None


class EvaluationProgress:
    """How far an evaluation is: a status line on a TTY, a log line every ``log_every_s`` otherwise."""

    def __init__(self, label: str, logger: logging.Logger | None, log_every_s: float = EVAL_LOG_EVERY_S) -> None:
        self.label = label
        self.logger = logger
        self.tty = logger is not None and sys.stderr.isatty()
        self.status = status_line() if self.tty else None
        self._previous_text = self.status.text if self.status is not None else ""
        self.log_every_s = log_every_s
        self.started = time.perf_counter()
        self._last_log = self.started
        self._stage: str | None = None
        self._stage_started = self.started

    def text(self, stage: str, done: int, total: int | None, width: int) -> str:
        elapsed = time.perf_counter() - self._stage_started
        if total:
            fraction = done / total
            eta = elapsed / done * (total - done) if done else 0.0
            parts = [f"{self.label} {stage}", f"{done}/{total} {bar(fraction, 10)} {fraction:4.0%}",
                     f"eta: {format_duration(eta)}"]
        else:
            parts = [f"{self.label} {stage}", f"{format_duration(elapsed)}"]
        return fit(parts, width)

    def report(self, stage: str, done: int, total: int | None) -> None:
        if self.logger is None:
            return
        new_stage = stage != self._stage
        if new_stage:
            self._stage, self._stage_started = stage, time.perf_counter()
        if self.status is not None:
            if new_stage or self.status.due() or (total and done >= total):
                self.status.show(self.text(stage, done, total, self.status.width()))
        elif time.perf_counter() - self._last_log >= self.log_every_s:
            self._last_log = time.perf_counter()
            self.logger.info(self.text(stage, done, total, 10_000))

    def close(self) -> None:
        if self.status is not None:
            if self._previous_text:  # the training bar comes back
                self.status.show(self._previous_text)
            else:
                self.status.clear()
                self.status.text = ""
            self.status = None


_active: EvaluationProgress | None = None


def report(stage: str, done: int, total: int | None = None) -> None:
    """Tell the display how far the evaluation is: ``done`` of ``total`` items of ``stage``
    (``total=None`` when unknown). Cheap, and a no-op when no evaluation is being shown."""
    if _active is not None:
        _active.report(stage, done, total)


@contextlib.contextmanager
def evaluation_progress(label: str, logger: logging.Logger | None) -> Iterator[EvaluationProgress]:
    """Show the progress of the evaluation run inside the block (``logger`` None: show nothing, e.g. rank > 0)."""
    global _active
    previous, _active = _active, EvaluationProgress(label, logger)
    try:
        yield _active
    finally:
        current, _active = _active, previous
        current.close()
