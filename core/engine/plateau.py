"""MMagic's ``ReduceLR`` scheduler and the ``ReduceLRSchedulerHook`` that steps it (CAIN, FLAVR).

Unlike the closed-form schedules, ``ReduceLR`` reacts to a monitored value: the validation metric
``default_hooks.param_scheduler.val_metric`` (its mean over ``interval`` validations), or without one
the mean training loss of every ``interval`` epochs (``by_epoch=True``) or iterations. When the value
has not improved (by ``threshold``, relative or absolute) for more than ``patience`` steps, every
learning rate is multiplied by ``factor`` (not below ``min_lr``; a change under ``eps`` is skipped),
then ``cooldown`` steps pass before counting again — MMagic's rules, which are PyTorch's
``ReduceLROnPlateau``'s. The counters and the hook's running sum are saved with the schedulers, so a
resumed run reduces at the same step.
"""
from __future__ import annotations

import math
from typing import Any

from mgx.core.errors import ConfigError

HOOK_TYPE = "ReduceLRSchedulerHook"


class ReduceLR:
    """One optimizer's plateau schedule (MMagic's arguments; ``begin``/``end`` count its steps)."""

    def __init__(self, mode: str = "min", factor: float = 0.1, patience: int = 10, threshold: float = 1e-4,
                 threshold_mode: str = "rel", cooldown: int = 0, min_lr: float = 0.0, eps: float = 1e-8,
                 begin: int = 0, end: float = math.inf, last_step: int = -1, by_epoch: bool = True,
                 verbose: bool = False) -> None:
        if mode not in ("min", "max"):
            raise ConfigError(f"param_scheduler ReduceLR: mode must be 'min' or 'max', got {mode!r}")
        if not 0 <= factor < 1:
            raise ConfigError(f"param_scheduler ReduceLR: factor must be in [0, 1), got {factor!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ConfigError(f"param_scheduler ReduceLR: threshold_mode must be 'rel' or 'abs', "
                              f"got {threshold_mode!r}")
        self.mode, self.factor, self.patience = mode, float(factor), int(patience)
        self.threshold, self.threshold_mode = float(threshold), threshold_mode
        self.cooldown, self.min_lr, self.eps = int(cooldown), float(min_lr), float(eps)
        self.begin, self.end = begin, end
        self.last_step = 0  # MMEngine steps once at construction, leaving the rates as they are
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs, self.cooldown_counter = 0, 0

    def is_better(self, value: float) -> bool:
        if self.mode == "min":
            return value < (self.best * (1 - self.threshold) if self.threshold_mode == "rel" else
                            self.best - self.threshold)
        return value > (self.best * (1 + self.threshold) if self.threshold_mode == "rel" else
                        self.best + self.threshold)

    def step(self, value: float, param_groups: list[dict]) -> None:
        """One monitored value: update the counters and, on a plateau, reduce the groups' rates."""
        self.last_step += 1
        if not self.begin <= self.last_step < self.end:
            return
        if self.is_better(value):
            self.best, self.num_bad_epochs = value, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
            for group in param_groups:
                if group["lr"] - group["lr"] * self.factor > self.eps:
                    group["lr"] = max(group["lr"] * self.factor, self.min_lr)

    def state_dict(self) -> dict:
        return {"last_step": self.last_step, "best": self.best, "num_bad_epochs": self.num_bad_epochs,
                "cooldown_counter": self.cooldown_counter}

    def load_state_dict(self, state: dict) -> None:
        self.last_step, self.best = int(state["last_step"]), float(state["best"])
        self.num_bad_epochs, self.cooldown_counter = int(state["num_bad_epochs"]), int(state["cooldown_counter"])


class PlateauStepper:
    """``default_hooks.param_scheduler=dict(type='ReduceLRSchedulerHook', val_metric=None, by_epoch=True,
    interval=1)``: what value steps the ReduceLR schedules, and when."""

    def __init__(self, hook: Any) -> None:
        hook = dict(hook or {})
        if hook.get("type") != HOOK_TYPE:
            raise ConfigError(f"param_scheduler ReduceLR is stepped by default_hooks.param_scheduler="
                              f"dict(type='{HOOK_TYPE}', val_metric=..., by_epoch=..., interval=...) (MMagic's); "
                              f"got {hook or None!r}")
        unknown = sorted(set(hook) - {"type", "val_metric", "by_epoch", "interval"})
        if unknown:
            raise ConfigError(f"default_hooks.param_scheduler ({HOOK_TYPE}) has unknown key(s) {unknown}; it takes "
                              f"val_metric, by_epoch, interval")
        interval = hook.get("interval", 1)
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
            raise ConfigError(f"default_hooks.param_scheduler.interval must be a positive int, got {interval!r}")
        self.val_metric, self.by_epoch = hook.get("val_metric"), bool(hook.get("by_epoch", True))
        self.interval = interval
        self.total, self.count = 0.0, 0

    def _mean(self) -> float:
        value = self.total / self.count
        self.total, self.count = 0.0, 0
        return value

    def after_iteration(self, loss: float | None, iteration: int) -> float | None:
        """The value to step with after a training iteration (1-based), if it is time."""
        if self.val_metric is not None or loss is None:
            return None
        self.total, self.count = self.total + loss, self.count + 1
        return None if self.by_epoch or iteration % self.interval else self._mean()

    def after_epoch(self, epoch: int) -> float | None:
        """After ``epoch`` (1-based) epochs of training."""
        if self.val_metric is not None or not self.by_epoch or epoch % self.interval or not self.count:
            return None
        return self._mean()

    def after_validation(self, metrics: dict, epoch: int) -> float | None:
        if self.val_metric is None:
            return None
        if self.val_metric not in metrics:
            raise ConfigError(f"default_hooks.param_scheduler.val_metric={self.val_metric!r} but validation produced "
                              f"{sorted(metrics)}: name one of those")
        self.total, self.count = self.total + float(metrics[self.val_metric]), self.count + 1
        return None if self.by_epoch and epoch % self.interval else self._mean()

    def state_dict(self) -> dict:
        return {"total": self.total, "count": self.count}

    def load_state_dict(self, state: dict) -> None:
        self.total, self.count = float(state["total"]), int(state["count"])


class Plateaus:
    """A SchedulerSet's ReduceLR schedules (one per optimizer they target) and the hook that steps them;
    their states follow the other schedulers' in the checkpoint (each schedule's, then the hook's)."""

    def __init__(self, optims: Any) -> None:
        self.optims = optims
        self.items: list[tuple[ReduceLR, str]] = []
        self.stepper: PlateauStepper | None = None

    def __len__(self) -> int:
        return len(self.items) + (1 if self.items else 0)

    def add(self, kwargs: dict, targets: list[str]) -> None:
        from mgx.core.config.keys import raise_type_problems

        raise_type_problems(ReduceLR, kwargs, "param_scheduler[ReduceLR]")
        try:
            self.items += [(ReduceLR(**kwargs), target) for target in targets]
        except TypeError as exc:
            raise ConfigError(f"param_scheduler ReduceLR: {exc}") from None

    def finish(self, hook: Any, combined: bool) -> None:
        """After every scheduler is added: ``combined`` says others were too (refused with a ReduceLR)."""
        if not self.items:
            return
        if combined:
            raise ConfigError("param_scheduler: ReduceLR sets the learning rate from a monitored value; it "
                              "cannot be combined with other schedulers")
        self.stepper = PlateauStepper(hook)

    def _step(self, value: float | None) -> None:
        if value is None:
            return
        for plateau, target in self.items:
            plateau.step(value, self.optims[target].optimizer.param_groups)

    def after_iteration(self, loss: Any, iteration: int) -> None:
        if self.stepper is not None and self.stepper.val_metric is None and loss is not None:
            self._step(self.stepper.after_iteration(float(loss), iteration))

    def after_epoch(self, epoch: int) -> None:
        if self.stepper is not None:
            self._step(self.stepper.after_epoch(epoch))

    def after_validation(self, metrics: dict, epoch: int) -> None:
        if self.stepper is not None:
            self._step(self.stepper.after_validation(metrics, epoch))

    def state_dict(self) -> list[dict]:
        if self.stepper is None:
            return []
        return [plateau.state_dict() for plateau, _ in self.items] + [self.stepper.state_dict()]

    def load_state_dict(self, states: list[dict]) -> None:
        if self.stepper is None:
            return
        for (plateau, _), state in zip(self.items, states[:-1]):
            plateau.load_state_dict(state)
        self.stepper.load_state_dict(states[-1])
