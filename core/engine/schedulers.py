"""MMEngine's learning-rate schedulers by name, as closed forms of the step.

Each scheduler is active on ``begin <= step < end`` (steps are iterations, or
epochs when ``by_epoch=True``; ``convert_to_iter_based=True`` turns an epoch
schedule into the same schedule in iterations). Before ``begin`` it leaves the
learning rate alone; after ``end`` it holds its last value. A list of
schedulers applies in order, each to the learning rate the previous ones give
at that step — for multiplicative schedulers (and ``eta_min=0``) this is
exactly MMEngine's chained result; for overlapping ranges with a non-zero
``eta_min`` it is the natural composition of the closed forms.

Because the learning rate is a function of (iteration, epoch), a resumed run
gets exactly the rate it would have had.
"""
from __future__ import annotations

import math
from typing import Any

from mgx.core.errors import ConfigError

INF = float("inf")


class Schedule:
    """One scheduler: ``value(lr, step)`` for the steps it covers."""

    scaled_by_epoch: tuple[str, ...] = ()  # arguments counted in steps (converted to iterations with begin/end)

    def __init__(self, begin: int = 0, end: float = INF, by_epoch: bool | None = None,
                 convert_to_iter_based: bool = False, param_name: str = "lr", verbose: bool = False) -> None:
        if param_name != "lr":
            raise ConfigError(f"param_scheduler {type(self).__name__}: param_name={param_name!r} is not supported "
                              f"(mgx schedules the learning rate)")
        self.begin, self.end = begin, end
        self.by_epoch = by_epoch
        self.convert_to_iter_based = convert_to_iter_based

    def convert(self, iters_per_epoch: int) -> None:
        """An epoch schedule as iterations (MMEngine's convert_to_iter_based)."""
        self.begin = self.begin * iters_per_epoch
        self.end = self.end * iters_per_epoch if self.end != INF else INF
        for name in self.scaled_by_epoch:
            value = getattr(self, name)
            if isinstance(value, (list, tuple)):
                setattr(self, name, [item * iters_per_epoch for item in value])
            elif value is not None:
                setattr(self, name, value * iters_per_epoch)
        self.by_epoch = False

    def apply(self, lr: float, step: int) -> float:
        if step < self.begin:
            return lr
        last = self.end - 1 if self.end != INF else step
        return self.value(lr, min(step, last) - self.begin)

    @property
    def span(self) -> float:
        return self.end - self.begin

    def value(self, lr: float, t: int) -> float:  # pragma: no cover - every subclass defines it
        raise NotImplementedError


class ConstantLR(Schedule):
    def __init__(self, factor: float = 1.0 / 3, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.factor = factor

    def value(self, lr: float, t: int) -> float:
        return lr * self.factor if t < self.span - 1 else lr


class LinearLR(Schedule):
    def __init__(self, start_factor: float = 1.0 / 3, end_factor: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_factor, self.end_factor = start_factor, end_factor

    def value(self, lr: float, t: int) -> float:
        total = self.span - 1
        progress = 1.0 if total <= 0 or total == INF else min(t, total) / total
        return lr * (self.start_factor + (self.end_factor - self.start_factor) * progress)


class StepLR(Schedule):
    scaled_by_epoch = ("step_size",)

    def __init__(self, step_size: int, gamma: float = 0.1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.step_size, self.gamma = step_size, gamma

    def value(self, lr: float, t: int) -> float:
        return lr * self.gamma ** (t // self.step_size)


class MultiStepLR(Schedule):
    scaled_by_epoch = ("milestones",)

    def __init__(self, milestones: list, gamma: float = 0.1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.milestones, self.gamma = list(milestones), gamma

    def value(self, lr: float, t: int) -> float:
        return lr * self.gamma ** sum(1 for milestone in self.milestones if milestone <= t)


class ExponentialLR(Schedule):
    def __init__(self, gamma: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gamma = gamma

    def value(self, lr: float, t: int) -> float:
        return lr * self.gamma ** t


def _eta_min(lr: float, eta_min: float | None, eta_min_ratio: float | None) -> float:
    return lr * eta_min_ratio if eta_min_ratio is not None else (eta_min or 0.0)


class CosineAnnealingLR(Schedule):
    scaled_by_epoch = ("T_max",)

    def __init__(self, T_max: int | None = None, eta_min: float | None = None, eta_min_ratio: float | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if eta_min is not None and eta_min_ratio is not None:
            raise ConfigError("param_scheduler CosineAnnealingLR: give eta_min or eta_min_ratio, not both")
        self.T_max, self.eta_min, self.eta_min_ratio = T_max, eta_min, eta_min_ratio

    def value(self, lr: float, t: int) -> float:
        period = self.T_max if self.T_max is not None else self.span
        if period == INF:
            raise ConfigError("param_scheduler CosineAnnealingLR needs T_max or a finite end")
        eta = _eta_min(lr, self.eta_min, self.eta_min_ratio)
        return eta + (lr - eta) * (1 + math.cos(math.pi * t / period)) / 2


class PolyLR(Schedule):
    def __init__(self, eta_min: float = 0.0, power: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.eta_min, self.power = eta_min, power

    def value(self, lr: float, t: int) -> float:
        total = self.span - 1
        if total == INF:
            raise ConfigError("param_scheduler PolyLR needs a finite end")
        progress = 1.0 if total <= 0 else min(t, total) / total
        return (lr - self.eta_min) * (1 - progress) ** self.power + self.eta_min


class CosineRestartLR(Schedule):
    scaled_by_epoch = ("periods",)

    def __init__(self, periods: list, restart_weights: list | tuple = (1,), eta_min: float | None = None,
                 eta_min_ratio: float | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if len(restart_weights) != len(periods):
            raise ConfigError(f"param_scheduler CosineRestartLR: periods {list(periods)} and restart_weights "
                              f"{list(restart_weights)} must have the same length")
        self.periods, self.restart_weights = list(periods), list(restart_weights)
        self.eta_min, self.eta_min_ratio = eta_min, eta_min_ratio

    def value(self, lr: float, t: int) -> float:
        eta = _eta_min(lr, self.eta_min, self.eta_min_ratio)
        start = 0
        for period, weight in zip(self.periods, self.restart_weights):
            if t < start + period:
                return eta + weight * (lr - eta) * (1 + math.cos(math.pi * (t - start) / period)) / 2
            start += period
        last_period, last_weight = self.periods[-1], self.restart_weights[-1]  # hold the final value
        return eta + last_weight * (lr - eta) * (1 + math.cos(math.pi * (last_period - 1) / last_period)) / 2


class LinearLrInterval(Schedule):
    """MMagic's: from ``begin`` to ``end`` the learning rate moves from ``start_factor`` to
    ``end_factor`` in ``interval``-sized stairs. As MMagic computes it, the factors are
    the learning rates themselves (pix2pix/CycleGAN configs give 2e-4 → 0)."""

    def __init__(self, start_factor: float = 1.0 / 3, end_factor: float = 1.0, interval: int = 1,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.start_factor, self.end_factor, self.interval = start_factor, end_factor, interval

    def value(self, lr: float, t: int) -> float:
        stairs = max(1, int(self.span) // self.interval)
        return self.start_factor + (self.end_factor - self.start_factor) * (t // self.interval) / stairs


SCHEDULES: dict[str, type[Schedule]] = {cls.__name__: cls for cls in (
    ConstantLR, LinearLR, StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, PolyLR, CosineRestartLR,
    LinearLrInterval)}
