"""EMA: momentum semantics, warm-up, interval and start."""
from __future__ import annotations

import torch
from torch import nn

from mgx.core.engine.ema import ExponentialMovingAverage


def _model(value: float) -> nn.Module:
    model = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(value)
    return model


def test_without_warmup_the_average_moves_by_one_minus_momentum():
    model = _model(0.0)
    ema = ExponentialMovingAverage(model, momentum=0.9, warmup=False)
    with torch.no_grad():
        model.weight.fill_(1.0)
    ema.update(model, 1)
    assert torch.allclose(ema.module.weight, torch.tensor([[0.1]]))


def test_warmup_follows_the_weights_early_then_uses_the_momentum():
    model = _model(0.0)
    ema = ExponentialMovingAverage(model, momentum=0.999)
    with torch.no_grad():
        model.weight.fill_(1.0)
    ema.update(model, 1)  # n=0: m = min(0.999, 1/10) = 0.1
    assert torch.allclose(ema.module.weight, torch.tensor([[0.9]]))
    for iteration in range(2, 2001):
        ema.update(model, iteration)
    assert ema.module.weight.item() > 0.99  # without warm-up: 1 - 0.999**2000 ≈ 0.86


def test_interval_and_start_iter():
    model = _model(1.0)
    ema = ExponentialMovingAverage(model, momentum=0.5, interval=2, start_iter=4, warmup=False)
    with torch.no_grad():
        model.weight.fill_(3.0)
    for iteration in (1, 2, 3, 5):
        ema.update(model, iteration)
    assert ema.module.weight.item() == 1.0
    ema.update(model, 4)
    assert ema.module.weight.item() == 2.0


def test_a_top_level_ema_config_naming_a_type_is_mmagics_helper_variable_not_a_run_ema():
    from mgx.core.engine.ema import run_ema_config

    # MMagic's StyleGAN3 configs: ema_config = dict(type='RampUpEMA', ...) feeds model.ema_config
    assert run_ema_config({"ema_config": dict(type="RampUpEMA", ema_kimg=10)}) is None
    assert run_ema_config({"ema_config": dict(momentum=0.99)}) == dict(momentum=0.99)
    assert run_ema_config({}) is None
