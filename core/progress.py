"""Training progress: a one-line bar on a TTY, plain log lines otherwise.

The text log always gets the interval lines; the bar only redraws the terminal.
"""
from __future__ import annotations

import sys
import time


def format_duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


class Progress:
    def __init__(self, total: int, start: int, logger, enabled: bool = True) -> None:
        self.total = total
        self.start_iteration = start
        self.logger = logger
        self.tty = enabled and sys.stderr.isatty()
        self.started = time.perf_counter()
        self._last_draw = 0.0

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
        """An interval line: to the log file always; to the terminal unless the bar shows it."""
        self.logger.info(self.line(iteration, values), extra={"file_only": self.tty})
        if self.tty:
            self.draw(iteration, values, force=True)

    def draw_due(self) -> bool:
        """Whether the bar would redraw now (at most 5 times a second, on a TTY)."""
        return self.tty and time.perf_counter() - self._last_draw >= 0.2

    def draw(self, iteration: int, values: dict[str, float], force: bool = False) -> None:
        if not self.tty:
            return
        if not force and not self.draw_due():
            return
        self._last_draw = time.perf_counter()
        width = 24
        filled = int(width * iteration / max(self.total, 1))
        bar = "█" * filled + "·" * (width - filled)
        sys.stderr.write(f"\r{bar} {self.line(iteration, values)}\033[K")
        sys.stderr.flush()

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\n")
            sys.stderr.flush()
