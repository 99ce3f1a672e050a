"""Exponential moving average of model weights.

``ema = m * ema + (1 - m) * weights`` every ``interval`` iterations from
``start_iter`` on, with ``m = momentum`` (close to 1, e.g. 0.999); buffers are
copied. With ``warmup`` (the default), ``m = min(momentum, (1 + n) / (10 + n))``
after n updates, so the average is not dominated by the random initial weights
early in training (at momentum 0.999 they would still weigh 37 % after 1,000
updates). Evaluation uses the EMA copy for metrics with ``sample_model='ema'``.
"""
from __future__ import annotations

import copy
from typing import Any

from mgx.core.errors import ConfigError


class ExponentialMovingAverage:
    def __init__(self, model: Any, momentum: float = 0.999, interval: int = 1, start_iter: int = 0,
                 warmup: bool = True) -> None:
        if not 0.0 <= momentum < 1.0:
            raise ConfigError(f"ema_config.momentum must be in [0, 1), got {momentum!r} (0.999 keeps 99.9% of the average)")
        if not isinstance(interval, int) or interval < 1:
            raise ConfigError(f"ema_config.interval must be an integer ≥ 1, got {interval!r}")
        self.momentum = momentum
        self.interval = interval
        self.start_iter = start_iter
        self.warmup = warmup
        self.module = copy.deepcopy(model).eval()
        for parameter in self.module.parameters():
            parameter.requires_grad_(False)

    def update(self, model: Any, iteration: int) -> None:
        """Fold the current weights in; ``iteration`` is the 1-based count of finished steps."""
        import torch

        if iteration < self.start_iter or iteration % self.interval:
            return
        momentum = self.momentum
        if self.warmup:
            # updates so far, derived from the iteration so that resume needs no extra state
            first = -(-max(self.start_iter, 1) // self.interval) * self.interval
            updates = (iteration - first) // self.interval
            momentum = min(momentum, (1 + updates) / (10 + updates))
        with torch.no_grad():
            source = dict(model.named_parameters())
            for name, averaged in self.module.named_parameters():
                averaged.lerp_(source[name].detach(), 1.0 - momentum)
            buffers = dict(model.named_buffers())
            for name, buffer in self.module.named_buffers():
                buffer.copy_(buffers[name])

    def state_dict(self) -> dict:
        return self.module.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.module.load_state_dict(state)


def run_ema_config(cfg: Any) -> dict | None:
    """The top-level ``ema_config`` as mgx's run EMA, or None.

    MMEngine's runner reads no top-level ``ema_config``; MMagic's StyleGAN3 configs define one as a
    helper variable for ``model.ema_config`` (``dict(type='ExponentialMovingAverage' | 'RampUpEMA',
    ...)``, the model's own average). mgx's run EMA takes no ``type``, so a dict naming one is that
    helper and builds no run EMA."""
    value = cfg.get("ema_config")
    if not value or "type" in dict(value):
        return None
    return dict(value)

