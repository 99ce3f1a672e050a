"""The state of one run that lifecycle hooks receive as ``run``."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class RunContext:
    cfg: Any                      # the resolved Config
    work_dir: Path
    mode: str                     # "train" | "test"
    rank: int = 0
    world_size: int = 1
    device: Any = None
    model: Any = None             # the unwrapped model
    ema: Any = None               # ExponentialMovingAverage or None
    optim: Any = None             # OptimWrapperDict (training only)
    iteration: int = 0            # finished training iterations
    epoch: int = 0                # finished epochs (epoch-based) / passes over the data
    max_iters: int | None = None
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("mgx"))
    tracker: Any = None           # the MLflow tracker on rank 0, else None
    latest_metrics: dict = field(default_factory=dict)

    @property
    def is_main(self) -> bool:
        return self.rank == 0
