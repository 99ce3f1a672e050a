"""The run's text log (every rank writes its own file; rank 0 also prints)."""
from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

LOGGER_NAME = "mgx"


def setup_run_logger(work_dir: Path, rank: int, world_size: int) -> tuple[logging.Logger, Path]:
    """A logger writing to ``work_dir/<timestamp>.log`` (``..._rank<R>`` on other ranks) and, on rank 0, stderr."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    stamp = time.strftime("%Y%m%d_%H%M%S")
    suffix = "" if rank == 0 else f"_rank{rank}"
    log_path = work_dir / f"{stamp}{suffix}.log"
    formatter = logging.Formatter("%(asctime)s - mgx - %(levelname)s - %(message)s", "%Y/%m/%d %H:%M:%S")
    file_handler = logging.FileHandler(log_path, encoding="utf-8")
    file_handler.setFormatter(formatter)
    logger.addHandler(file_handler)
    if rank == 0:
        from mgx.core.run.progress import console_stream

        # on a terminal, lines fit its width and never mix with the progress bar
        console = logging.StreamHandler(console_stream() if sys.stderr.isatty() else sys.stderr)
        console.setFormatter(logging.Formatter("%(message)s" if sys.stderr.isatty() else
                                               "%(asctime)s - %(levelname)s - %(message)s", "%H:%M:%S"))
        logger.addHandler(console)
    return logger, log_path


def close_run_logger() -> None:
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
