"""The generator's moving average, as MMagic configures it inside the model
(``model.ema_config``), under MMagic's names and update rules.

* ``ExponentialMovingAverage``: ``avg = (1 - momentum) · avg + momentum · param``
  (MMagic/mmengine convention: ``momentum`` is the weight of the *new* value,
  default 0.0002; StyleGAN2's configs use ``1 - 0.5 ** (32 / 10000)``).
* ``RampUpEMA``: StyleGAN3's half-life schedule, ``beta = 0.5 ** (batch_size /
  min(ema_kimg · 1000, (steps + 1) · batch_size · ema_rampup))`` and
  ``avg = beta · avg + (1 - beta) · param``.

The first update copies the weights; later ones average every ``interval`` calls.
Buffers (injected-noise maps) are copied unless ``update_buffers``. ``steps`` is a
buffer, so the average resumes exactly from a checkpoint (state-dict keys
``generator_ema.module.*`` and ``generator_ema.steps``, as in MMagic).
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from mgx.core.errors import ConfigError

EMA_TYPES = ("ExponentialMovingAverage", "RampUpEMA")


class AveragedGenerator(nn.Module):
    def __init__(self, generator: nn.Module, type: str = "ExponentialMovingAverage", interval: int = 1,
                 momentum: float = 0.0002, ema_kimg: float = 10, ema_rampup: float | None = 0.05,
                 batch_size: int = 32, eps: float = 1e-8, update_buffers: bool = False,
                 device=None) -> None:
        super().__init__()
        if type not in EMA_TYPES:
            raise ConfigError(f"StyleGAN2: ema_config.type must be one of {EMA_TYPES}, got {type!r}")
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
            raise ConfigError(f"StyleGAN2: ema_config.interval must be an integer ≥ 1, got {interval!r}")
        if type == "ExponentialMovingAverage" and not 0.0 < momentum < 1.0:
            raise ConfigError(f"StyleGAN2: ema_config.momentum must be in (0, 1) — the weight of the new "
                              f"parameters, MMagic's convention (e.g. 0.0002) — got {momentum!r}")
        if type == "RampUpEMA" and (batch_size <= 0 or ema_kimg <= 0):
            raise ConfigError(f"StyleGAN2: RampUpEMA needs ema_kimg > 0 and batch_size > 0 (the global batch), "
                              f"got ema_kimg={ema_kimg!r}, batch_size={batch_size!r}")
        self.kind, self.interval, self.momentum = type, interval, momentum
        self.ema_kimg, self.ema_rampup, self.batch_size, self.eps = ema_kimg, ema_rampup, batch_size, eps
        self.update_buffers = update_buffers
        self.module = copy.deepcopy(generator)
        for parameter in self.module.parameters():
            parameter.requires_grad_(False)
        self.register_buffer("steps", torch.tensor(0, dtype=torch.long))

    def new_weight(self, steps: int) -> float:
        """Weight of the current parameters in an update made after ``steps`` updates."""
        if self.kind == "ExponentialMovingAverage":
            return self.momentum
        seen = (steps + 1) * self.batch_size
        half_life = self.ema_kimg * 1000
        if self.ema_rampup is not None:
            half_life = min(half_life, seen * self.ema_rampup)
        return 1.0 - 0.5 ** (self.batch_size / max(half_life, self.eps))

    @torch.no_grad()
    def update_parameters(self, source: nn.Module) -> None:
        steps = int(self.steps)
        current = dict(source.named_parameters())
        if self.update_buffers:
            current.update(source.named_buffers())
        averaged = dict(self.module.named_parameters())
        if self.update_buffers:
            averaged.update(self.module.named_buffers())
        if steps % self.interval == 0:
            weight = self.new_weight(steps)
            for name, value in averaged.items():
                if value.dtype.is_floating_point and steps > 0:
                    value.lerp_(current[name].detach().to(value.dtype), weight)
                else:
                    value.copy_(current[name])
        if not self.update_buffers:
            self.copy_buffers(source)
        self.steps += 1

    @torch.no_grad()
    def copy_buffers(self, source: nn.Module) -> None:
        for (_, mine), (_, theirs) in zip(self.module.named_buffers(), source.named_buffers()):
            mine.copy_(theirs)

    @torch.no_grad()
    def copy_from(self, source: nn.Module) -> None:
        """Weights and buffers copied (MMagic's behaviour before ``start_iter``)."""
        for mine, theirs in zip(self.module.parameters(), source.parameters()):
            mine.copy_(theirs)
        self.copy_buffers(source)

    def follow(self, source: nn.Module, iterations_done: int, start_iter: int) -> None:
        """MMagic's update after a generator phase: average from ``start_iter`` on, copy before it."""
        if iterations_done >= start_iter:
            self.update_parameters(source)
        else:
            self.copy_from(source)

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)
