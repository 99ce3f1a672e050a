"""Training and evaluation loops: when to step, validate, log and checkpoint.

Loops own the schedule only. The work itself (a step, a validation pass, a
checkpoint) is done by the session object they are given, so a loop stays a
few dozen readable lines. Configs pick loops with ``train_cfg``/``val_cfg``/
``test_cfg`` (``type=`` or ``by_epoch``).

A training loop is the one owner of its schedule's length: it subclasses
:class:`TrainLoop` and answers ``by_epoch``, ``limit()`` and ``total_iters()``;
nothing else reads ``max_iters``/``max_epochs`` or checks a loop's class.
Validation and test loops (:class:`EvalLoop`) are built from ``val_cfg`` and
``test_cfg`` and run the evaluation pass.
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


class EvalSession(Protocol):
    """What a validation/test loop drives (``mgx.core.evaluation.validation.Validator``)."""

    def evaluate(self, amp: bool | None = None) -> dict[str, float]: ...


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


class TrainLoop:
    """Base of every training loop: the validation schedule (``val_begin``, ``val_interval``,
    ``dynamic_intervals``) and the answers the engine asks of a schedule. A subclass sets
    ``by_epoch``/``unit``, implements ``limit()`` and ``run(session)``."""

    by_epoch = False  # True: the schedule counts epochs (the loader is finite, checkpoints say epoch_N)
    unit = "iteration"

    def __init__(self, val_begin: int = 1, val_interval: int = 1, dynamic_intervals: Any = None) -> None:
        if isinstance(val_interval, bool) or not isinstance(val_interval, int) or val_interval <= 0:
            raise ConfigError(f"train_cfg.val_interval must be a positive integer (validate every N "
                              f"{self.unit}s), got {val_interval!r}")
        if isinstance(val_begin, bool) or not isinstance(val_begin, int) or val_begin < 0:
            raise ConfigError(f"train_cfg.val_begin must be an integer ≥ 0, got {val_begin!r}")
        self.val_begin = val_begin
        self.val_interval = val_interval
        self.milestones, self.intervals = _interval_schedule(val_interval, dynamic_intervals, self.unit)

    def limit(self) -> tuple[str, int]:
        """The ``train_cfg`` key that ends the schedule and its value (in ``unit``s)."""
        raise NotImplementedError(f"{type(self).__name__} must implement limit()")

    def run(self, session: TrainSession) -> str:
        raise NotImplementedError(f"{type(self).__name__} must implement run(session)")

    def total_iters(self, iters_per_epoch: int) -> int:
        """Iterations the whole schedule takes."""
        return self.limit()[1] * (iters_per_epoch if self.by_epoch else 1)

    def done_count(self, iteration: int, epoch: int) -> int:
        """How far a run at ``iteration``/``epoch`` is, in ``unit``s."""
        return epoch if self.by_epoch else iteration

    def interval_at(self, count: int) -> int:
        """The validation interval in force at ``count`` (the last milestone ≤ count decides)."""
        return self.intervals[bisect.bisect_right(self.milestones, count) - 1]

    def validation_due(self, count: int, last: int) -> bool:
        return count >= self.val_begin and (count % self.interval_at(count) == 0 or count == last)


class IterBasedTrainLoop(TrainLoop):
    """``train_cfg=dict(by_epoch=False, max_iters=N, val_begin=1, val_interval=K)``."""

    def __init__(self, max_iters: int, val_begin: int = 1, val_interval: int = 1000,
                 dynamic_intervals: Any = None) -> None:
        super().__init__(val_begin, val_interval, dynamic_intervals)
        self.max_iters = _positive_int(max_iters, "max_iters")

    def limit(self) -> tuple[str, int]:
        return "max_iters", self.max_iters

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


class EpochBasedTrainLoop(TrainLoop):
    """``train_cfg=dict(by_epoch=True, max_epochs=N, val_begin=1, val_interval=K)`` (K in epochs)."""

    by_epoch = True
    unit = "epoch"

    def __init__(self, max_epochs: int, val_begin: int = 1, val_interval: int = 1,
                 dynamic_intervals: Any = None) -> None:
        super().__init__(val_begin, val_interval, dynamic_intervals)
        self.max_epochs = _positive_int(max_epochs, "max_epochs")

    def limit(self) -> tuple[str, int]:
        return "max_epochs", self.max_epochs

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


class EvalLoop:
    """Base of validation/test loops: one evaluation pass over every dataloader/evaluator pair.
    ``fp16=True`` runs it under autocast (as ``--amp`` does) even when training does not."""

    def __init__(self, fp16: bool = False) -> None:
        if not isinstance(fp16, bool):
            raise ConfigError(f"{self.cfg_key}.fp16 must be True or False, got {fp16!r}")
        self.fp16 = fp16

    cfg_key = "val_cfg"

    def run(self, session: EvalSession) -> dict[str, float]:
        return session.evaluate(amp=True if self.fp16 else None)


class ValLoop(EvalLoop):
    """One dataloader and evaluator (``val_cfg=dict(type='ValLoop')``)."""


class MultiValLoop(ValLoop):
    """Several dataloader/evaluator pairs (the seed's ``val_cfg=dict(type='MultiValLoop')``); a list
    of dataloaders/evaluators makes several pairs with either loop."""


class TestLoop(EvalLoop):
    """``test_cfg=dict(type='TestLoop')``."""

    cfg_key = "test_cfg"


class MultiTestLoop(TestLoop):
    """Several test dataloader/evaluator pairs."""


# what train_cfg may hold with the built-in loops (a plugin loop's own signature decides for it)
TRAIN_LOOP_KEYS = ("type", "by_epoch", "max_iters", "max_epochs", "val_begin", "val_interval", "dynamic_intervals")
DEFAULT_LOOP_TYPES = {"val_cfg": "ValLoop", "test_cfg": "TestLoop"}


def loop_type(cfg: dict, key: str = "train_cfg") -> str:
    """The loop type ``cfg`` (the ``train_cfg``/``val_cfg``/``test_cfg`` section) selects: ``type``
    wins; else a train loop counts epochs with ``by_epoch=True``, iterations otherwise."""
    if cfg.get("type"):
        return cfg["type"]
    if key == "train_cfg":
        return "EpochBasedTrainLoop" if cfg.get("by_epoch") else "IterBasedTrainLoop"
    return DEFAULT_LOOP_TYPES[key]


def train_loop_from_cfg(cfg: dict | None, build_loop: Any) -> TrainLoop:
    """The train loop ``train_cfg`` describes (``type`` wins over ``by_epoch``)."""
    cfg = dict(cfg or {})
    cfg["type"] = loop_type(cfg)
    cfg.pop("by_epoch", None)
    if cfg["type"] == "IterBasedTrainLoop" and "max_iters" not in cfg:
        raise ConfigError("train_cfg needs max_iters (iteration-based) or by_epoch=True with max_epochs")
    if cfg["type"] == "EpochBasedTrainLoop" and "max_epochs" not in cfg:
        raise ConfigError("train_cfg with by_epoch=True needs max_epochs")
    return _checked(build_loop(cfg, "loop"), TrainLoop, "train_cfg")


def eval_loop_from_cfg(cfg: dict | None, key: str, build_loop: Any) -> EvalLoop:
    """The validation (``key='val_cfg'``) or test (``'test_cfg'``) loop the section describes."""
    cfg = dict(cfg or {})
    cfg["type"] = loop_type(cfg, key)
    return _checked(build_loop(cfg, "loop"), EvalLoop, key)


def _checked(loop: Any, base: type, key: str) -> Any:
    if not isinstance(loop, base):
        what = "training" if base is TrainLoop else "validation/test"
        raise ConfigError(f"{key}.type={type(loop).__name__} is not a {what} loop: a loop plugin for {key} "
                          f"subclasses mgx.core.engine.loops.{base.__name__}")
    return loop
