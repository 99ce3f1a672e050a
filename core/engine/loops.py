"""Training and evaluation loops: when to step, validate, log and checkpoint.

Loops own the schedule only. The work itself (a step, a validation pass, a
checkpoint) is done by the session object they are given, so a loop stays a
few dozen readable lines. Configs pick loops with ``train_cfg``/``val_cfg``/
``test_cfg`` (``type=`` or ``by_epoch``).
"""
from __future__ import annotations

import bisect
from typing import Any, Protocol

from mgx.core.errors import ConfigError


class TrainSession(Protocol):
    """What a training loop drives (implemented by ``mgx.core.engine.training.Trainer``)."""

    run: Any

    def batches(self, epoch: int | None, skip_iterations: int = 0) -> Any: ...
    def train_step(self, batch: dict) -> dict[str, float]: ...
    def end_of_epoch(self, epoch: int) -> None: ...
    def log_progress(self) -> None: ...
    def validate(self) -> dict[str, float]: ...
    def save_checkpoint(self, reason: str) -> None: ...
    def stop_requested(self) -> bool: ...


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"train_cfg.{name} must be a positive integer, got {value!r}")
    return value


def _interval_schedule(val_interval: int, dynamic_intervals: Any, unit: str) -> tuple[list[int], list[int]]:
    """MMEngine's ``dynamic_intervals=[(milestone, interval), ...]``: from ``milestone`` on
    (in iterations or epochs), validate every ``interval``. Returns sorted milestones and
    their intervals, starting with ``(0, val_interval)``."""
    milestones, intervals = [0], [val_interval]
    if dynamic_intervals is None:
        return milestones, intervals
    if not isinstance(dynamic_intervals, (list, tuple)):
        raise ConfigError(f"train_cfg.dynamic_intervals must be a list of (milestone, interval) pairs, "
                          f"got {dynamic_intervals!r}")
    for item in dynamic_intervals:
        if not (isinstance(item, (list, tuple)) and len(item) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in item)):
            raise ConfigError(f"train_cfg.dynamic_intervals: {item!r} is not a (milestone, interval) pair of "
                              f"positive integers ({unit}s)")
        if item[0] <= milestones[-1]:
            raise ConfigError(f"train_cfg.dynamic_intervals: milestones must increase, got {item[0]} after "
                              f"{milestones[-1]}")
        milestones.append(item[0])
        intervals.append(item[1])
    return milestones, intervals


class _TrainLoop:
    def __init__(self, val_begin: int = 1, val_interval: int = 1, dynamic_intervals: Any = None) -> None:
        if isinstance(val_interval, bool) or not isinstance(val_interval, int) or val_interval <= 0:
            raise ConfigError(f"train_cfg.val_interval must be a positive integer (validate every N "
                              f"{self.unit}s), got {val_interval!r}")
        if isinstance(val_begin, bool) or not isinstance(val_begin, int) or val_begin < 0:
            raise ConfigError(f"train_cfg.val_begin must be an integer ≥ 0, got {val_begin!r}")
        self.val_begin = val_begin
        self.val_interval = val_interval
        self.milestones, self.intervals = _interval_schedule(val_interval, dynamic_intervals, self.unit)

    unit = "iteration"

    def interval_at(self, count: int) -> int:
        """The validation interval in force at ``count`` (the last milestone ≤ count decides)."""
        return self.intervals[bisect.bisect_right(self.milestones, count) - 1]

    def validation_due(self, count: int, last: int) -> bool:
        return count >= self.val_begin and (count % self.interval_at(count) == 0 or count == last)


class IterBasedTrainLoop(_TrainLoop):
    """``train_cfg=dict(by_epoch=False, max_iters=N, val_begin=1, val_interval=K)``."""

    def __init__(self, max_iters: int, val_begin: int = 1, val_interval: int = 1000,
                 dynamic_intervals: Any = None) -> None:
        super().__init__(val_begin, val_interval, dynamic_intervals)
        self.max_iters = _positive_int(max_iters, "max_iters")

    def run(self, session: TrainSession) -> str:
        run = session.run
        run.max_iters = self.max_iters
        batches = session.batches(epoch=None)
        while run.iteration < self.max_iters:
            session.train_step(next(batches))
            count = run.iteration
            session.log_progress()
            # validate before the periodic checkpoint: once a checkpoint exists, everything up to
            # it (validation metrics included) is recorded, and a resume never skips a validation
            if self.validation_due(count, self.max_iters):
                session.validate()
            session.save_checkpoint("interval")
            if session.stop_requested() and count < self.max_iters:
                return "PREEMPTED"
        return "FINISHED"


class EpochBasedTrainLoop(_TrainLoop):
    """``train_cfg=dict(by_epoch=True, max_epochs=N, val_begin=1, val_interval=K)`` (K in epochs)."""

    unit = "epoch"

    def __init__(self, max_epochs: int, val_begin: int = 1, val_interval: int = 1,
                 dynamic_intervals: Any = None) -> None:
        super().__init__(val_begin, val_interval, dynamic_intervals)
        self.max_epochs = _positive_int(max_epochs, "max_epochs")

    def run(self, session: TrainSession) -> str:
        run = session.run
        run.max_iters = self.max_epochs * session.iters_per_epoch
        while run.epoch < self.max_epochs:
            done_in_epoch = run.iteration - run.epoch * session.iters_per_epoch
            for batch in session.batches(epoch=run.epoch, skip_iterations=done_in_epoch):
                session.train_step(batch)
                session.log_progress()
                if session.stop_requested():
                    return "PREEMPTED"
            run.epoch += 1
            session.end_of_epoch(run.epoch)
            if self.validation_due(run.epoch, self.max_epochs):
                session.validate()
            session.save_checkpoint("interval")
            if session.stop_requested() and run.epoch < self.max_epochs:
                return "PREEMPTED"
        return "FINISHED"


class ValLoop:
    """One dataloader and evaluator (``val_cfg=dict(type='ValLoop')``)."""

    def __init__(self, fp16: bool = False) -> None:
        self.fp16 = fp16


class MultiValLoop(ValLoop):
    """Several dataloader/evaluator pairs (the seed's ``val_cfg=dict(type='MultiValLoop')``)."""


class TestLoop(ValLoop):
    """``test_cfg=dict(type='TestLoop')``."""


class MultiTestLoop(TestLoop):
    """Several test dataloader/evaluator pairs."""


# what train_cfg may hold with the built-in loops (a plugin loop's own signature decides for it)
TRAIN_LOOP_KEYS = ("type", "by_epoch", "max_iters", "max_epochs", "val_begin", "val_interval", "dynamic_intervals")


def train_loop_from_cfg(cfg: dict | None, build_loop: Any) -> Any:
    """The train loop ``train_cfg`` describes (``type`` wins over ``by_epoch``)."""
    cfg = dict(cfg or {})
    if "type" not in cfg:
        cfg["type"] = "EpochBasedTrainLoop" if cfg.pop("by_epoch", False) else "IterBasedTrainLoop"
    else:
        cfg.pop("by_epoch", None)
    if cfg["type"] == "IterBasedTrainLoop" and "max_iters" not in cfg:
        raise ConfigError("train_cfg needs max_iters (iteration-based) or by_epoch=True with max_epochs")
    if cfg["type"] == "EpochBasedTrainLoop" and "max_epochs" not in cfg:
        raise ConfigError("train_cfg with by_epoch=True needs max_epochs")
    return build_loop(cfg, "loop")
