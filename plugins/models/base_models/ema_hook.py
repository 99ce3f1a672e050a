"""``ExponentialMovingAverageHook`` (MMagic 1.2.0's custom hook, its name and arguments): keeps a model's
``<name>_ema`` sub-network a moving average of ``<name>`` (e.g. RealESRGAN's ``generator_ema``).

After every ``interval``-th training iteration (counted from ``start_iter``), each entry of the EMA
network's state becomes ``ema + (current − ema)·m`` with ``m = momentum`` for trainable parameters and
``momentum_nontrainable`` (default 1: a copy) for buffers and frozen parameters. Before ``start_iter``
the EMA network is a copy. A model that has ``<name>`` but no ``<name>_ema`` gets a copy at the start
(with a warning, as in MMagic). The EMA network is part of the model, so checkpoints and resume carry it.
"""
from __future__ import annotations

import copy
import warnings
from typing import Any

import torch

from mgx.core.errors import ConfigError
from mgx.core.hookspecs import hookimpl

EMA_SUFFIX = "_ema"


def _check_interp_cfg(interp_cfg: dict) -> tuple[float, float]:
    unknown = sorted(set(interp_cfg) - {"momentum", "momentum_nontrainable"})
    if unknown:
        raise ConfigError(f"ExponentialMovingAverageHook: interp_cfg has unknown key(s) {unknown}; it takes "
                          f"momentum, momentum_nontrainable")
    momentum = float(interp_cfg.get("momentum", 0.001))
    nontrainable = float(interp_cfg.get("momentum_nontrainable", 1.0))
    if not 0.0 < momentum < 1.0:
        raise ConfigError(f"ExponentialMovingAverageHook: interp_cfg.momentum must be in (0, 1), got {momentum}")
    if not 0.0 < nontrainable <= 1.0:
        raise ConfigError(f"ExponentialMovingAverageHook: interp_cfg.momentum_nontrainable must be in (0, 1], "
                          f"got {nontrainable}")
    if momentum > 0.5:
        warnings.warn(f"ExponentialMovingAverageHook: momentum {momentum} is the weight of the *current* "
                      f"network; EMA momenta are usually small (e.g. 0.001)", stacklevel=3)
    return momentum, nontrainable


class ExponentialMovingAverageHook:
    """See the module docstring."""

    def __init__(self, module_keys: Any, interp_mode: str = "lerp", interp_cfg: dict | None = None,
                 interval: int = -1, start_iter: int = 0, priority: Any = None) -> None:
        keys = (module_keys,) if isinstance(module_keys, str) else module_keys
        if not isinstance(keys, (list, tuple)) or not keys or not all(isinstance(k, str) for k in keys):
            raise ConfigError(f"ExponentialMovingAverageHook: module_keys must be a name or a tuple of names, "
                              f"got {module_keys!r}")
        bad = [key for key in keys if not key.endswith(EMA_SUFFIX)]
        if bad:
            raise ConfigError(f"ExponentialMovingAverageHook: module_keys must end with '{EMA_SUFFIX}' (the EMA "
                              f"copy of the network named without it), got {bad}")
        if interp_mode != "lerp":
            raise ConfigError(f"ExponentialMovingAverageHook: interp_mode must be 'lerp', got {interp_mode!r}")
        for name, value in (("interval", interval), ("start_iter", start_iter)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"ExponentialMovingAverageHook: {name} must be an int, got {value!r}")
        self.module_keys = tuple(keys)
        self.momentum, self.momentum_nontrainable = _check_interp_cfg(dict(interp_cfg or {}))
        self.interval, self.start_iter = interval, start_iter

    def _due(self, iteration: int) -> bool:
        if iteration < self.start_iter:
            return True
        return self.interval > 0 and (iteration + 1 - self.start_iter) % self.interval == 0

    @hookimpl
    def mgx_before_run(self, run: Any) -> None:
        model = run.model
        for key in self.module_keys:
            source = key[: -len(EMA_SUFFIX)]
            if getattr(model, key, None) is None:
                if getattr(model, source, None) is None:
                    raise ConfigError(f"ExponentialMovingAverageHook: the model ({type(model).__name__}) has "
                                      f"neither {key!r} nor {source!r}")
                warnings.warn(f"ExponentialMovingAverageHook: the model has no {key!r}; starting it as a copy "
                              f"of {source!r}", stacklevel=2)
                setattr(model, key, copy.deepcopy(getattr(model, source)).requires_grad_(False))

    @torch.no_grad()
    def update(self, model: Any, iteration: int) -> None:
        """One EMA step after training iteration ``iteration`` (0-based)."""
        if not self._due(iteration):
            return
        for key in self.module_keys:
            ema_state = getattr(model, key).state_dict()
            for name, value in getattr(model, key[: -len(EMA_SUFFIX)]).state_dict(keep_vars=True).items():
                target = ema_state[name]
                if iteration < self.start_iter or not target.is_floating_point():
                    target.copy_(value.detach())
                    continue
                weight = self.momentum if value.requires_grad else self.momentum_nontrainable
                target.lerp_(value.detach().to(target.dtype), weight)

    @hookimpl
    def mgx_after_train_iter(self, run: Any, iteration: int, batch: Any, outputs: Any) -> None:
        self.update(run.model, iteration)
