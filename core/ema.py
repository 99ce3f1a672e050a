"""Exponential moving average of model weights.

``ema = momentum * ema + (1 - momentum) * weights`` every ``interval``
iterations from ``start_iter`` on (momentum close to 1, e.g. 0.999); buffers
are copied. Evaluation uses the EMA copy for metrics with ``sample_model='ema'``.
"""
from __future__ import annotations

import copy
from typing import Any

from .errors import ConfigError


class ExponentialMovingAverage:
    def __init__(self, model: Any, momentum: float = 0.999, interval: int = 1, start_iter: int = 0) -> None:
        if not 0.0 <= momentum < 1.0:
            raise ConfigError(f"ema_config.momentum must be in [0, 1), got {momentum!r} (0.999 keeps 99.9% of the average)")
        if not isinstance(interval, int) or interval < 1:
            raise ConfigError(f"ema_config.interval must be an integer ≥ 1, got {interval!r}")
        self.momentum = momentum
        self.interval = interval
        self.start_iter = start_iter
        self.module = copy.deepcopy(model).eval()
        for parameter in self.module.parameters():
            parameter.requires_grad_(False)

    def update(self, model: Any, iteration: int) -> None:
        """Fold the current weights in; ``iteration`` is the 1-based count of finished steps."""
        import torch

        if iteration < self.start_iter or iteration % self.interval:
            return
        with torch.no_grad():
            source = dict(model.named_parameters())
            for name, averaged in self.module.named_parameters():
                averaged.lerp_(source[name].detach(), 1.0 - self.momentum)
            buffers = dict(model.named_buffers())
            for name, buffer in self.module.named_buffers():
                buffer.copy_(buffers[name])

    def state_dict(self) -> dict:
        return self.module.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.module.load_state_dict(state)
