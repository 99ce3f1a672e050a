"""MMagic's ``ADAAug`` and ``ADAStyleGAN2Discriminator``: adaptive discriminator augmentation.

``ADAStyleGAN2Discriminator(in_size, ..., data_aug=dict(type='ADAAug', aug_pipeline=dict(xflip=1, ...),
ada_kimg=100))`` augments every image it sees (reals, fakes, R1's reals) with ``ada_aug.aug_pipeline``
(``ada_augment.AugmentPipe``) before StyleGAN2's discriminator. After each iteration the model adds the batch
size and the sum of ``sign(D(real))`` to ``ada_aug.log_buffer``; every ``update_interval`` iterations
``p ← max(p + sign(mean sign(D(real)) − ada_target) · batch · update_interval / (ada_kimg · 1000), 0)``
and the buffer is cleared (MMagic's rule: the per-process batch and sign sums, not all-reduced).
State-dict keys are MMagic's: ``ada_aug.aug_pipeline.p``/``Hz_geom``/``Hz_fbank``, ``ada_aug.log_buffer``.
"""
from __future__ import annotations

import torch
from torch import nn

from mgx.core.errors import ConfigError

from .ada_augment import AugmentPipe
from .discriminator import StyleGAN2Discriminator


class ADAAug(nn.Module):
    def __init__(self, aug_pipeline: dict | None = None, update_interval: int = 4, augment_initial_p: float = 0.0,
                 ada_target: float = 0.6, ada_kimg: float = 500) -> None:
        super().__init__()
        if isinstance(update_interval, bool) or not isinstance(update_interval, int) or update_interval < 1:
            raise ConfigError(f"ADAAug: update_interval must be a positive int, got {update_interval!r}")
        if not isinstance(ada_kimg, (int, float)) or ada_kimg <= 0:
            raise ConfigError(f"ADAAug: ada_kimg must be > 0, got {ada_kimg!r}")
        if aug_pipeline is not None and not isinstance(aug_pipeline, dict):
            raise ConfigError(f"ADAAug: aug_pipeline must be a dict of AugmentPipe arguments, got {aug_pipeline!r}")
        try:
            self.aug_pipeline = AugmentPipe(**(aug_pipeline or {}))
        except TypeError as error:
            raise ConfigError(f"ADAAug: aug_pipeline: {error}") from None
        self.update_interval, self.ada_kimg, self.ada_target = update_interval, float(ada_kimg), float(ada_target)
        self.aug_pipeline.p.fill_(float(augment_initial_p))
        self.register_buffer("log_buffer", torch.zeros(2))  # (number of reals, sum of sign(D(real)))

    @torch.no_grad()
    def record(self, real_logits: torch.Tensor) -> None:
        self.log_buffer[0] += real_logits.shape[0]
        self.log_buffer[1] += real_logits.detach().float().sign().sum()

    @torch.no_grad()
    def update(self, iteration: int, num_batches: int) -> None:
        """MMagic's update after iteration ``iteration`` (0-based) with ``num_batches`` reals per process."""
        if (iteration + 1) % self.update_interval:
            return
        step = num_batches * self.update_interval / (self.ada_kimg * 1000.0)
        heuristic = float(self.log_buffer[1] / self.log_buffer[0])
        direction = (heuristic > self.ada_target) - (heuristic < self.ada_target)
        self.aug_pipeline.p.copy_((self.aug_pipeline.p + direction * step).clamp(min=0))
        self.log_buffer.zero_()


class ADAStyleGAN2Discriminator(StyleGAN2Discriminator):
    def __init__(self, in_size: int, *args, data_aug: dict | None = None, **kwargs) -> None:
        super().__init__(in_size, *args, **kwargs)
        self.with_ada = bool(data_aug)
        if self.with_ada:
            data_aug = dict(data_aug)
            if data_aug.pop("type", "ADAAug") != "ADAAug":
                raise ConfigError(f"ADAStyleGAN2Discriminator: data_aug.type must be 'ADAAug', got {data_aug!r}")
            self.ada_aug = ADAAug(**data_aug)

    def adapt_loaded_weights(self, weights: dict) -> dict:
        ada = {key: value for key, value in weights.items() if key.startswith("ada_aug.")}
        rest = super().adapt_loaded_weights({key: value for key, value in weights.items() if key not in ada})
        return {**rest, **ada}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_ada:
            x = self.ada_aug.aug_pipeline(x)
        return super().forward(x)


__all__ = ["ADAAug", "ADAStyleGAN2Discriminator"]
