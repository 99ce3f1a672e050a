"""Optimizer wrapper options (MMEngine's dtype / loss_scale / constructor) and the
validation schedule (val_begin, val_interval, dynamic_intervals)."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from mgx.core.errors import ConfigError
from mgx.core.engine.loops import EpochBasedTrainLoop, IterBasedTrainLoop
from mgx.core.engine.optim import build_optim_wrappers

CPU = torch.device("cpu")


def _due(loop, last):
    return [count for count in range(1, last + 1) if loop.validation_due(count, last)]


def test_dynamic_intervals_change_the_validation_interval_at_each_milestone():
    loop = IterBasedTrainLoop(max_iters=100, val_begin=1, val_interval=50, dynamic_intervals=[(60, 10), (90, 5)])
    assert _due(loop, 100) == [50, 60, 70, 80, 90, 95, 100]
    epochs = EpochBasedTrainLoop(max_epochs=12, val_interval=4, dynamic_intervals=[(8, 1)])
    assert _due(epochs, 12) == [4, 8, 9, 10, 11, 12]
    assert _due(IterBasedTrainLoop(max_iters=20, val_begin=12, val_interval=5), 20) == [15, 20]


@pytest.mark.parametrize("value, words", [((60, 10), "(milestone, interval) pair"), ([(60, 0)], "positive integers"),
                                          ([(60, 10), (50, 5)], "milestones must increase"),
                                          ("60:10", "list of (milestone, interval)")])
def test_bad_dynamic_intervals_are_config_errors(value, words):
    with pytest.raises(ConfigError, match="dynamic_intervals") as error:
        IterBasedTrainLoop(max_iters=100, val_interval=50, dynamic_intervals=value)
    assert words in str(error.value)


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))


def _step(model, wrapper, scale=1.0):
    x = torch.linspace(-1, 1, 32).reshape(4, 8)
    with wrapper.optim_context(model):
        loss = model(x).float().pow(2).mean() * scale
    wrapper.update_params(loss)


def test_static_loss_scale_stays_and_skips_non_finite_steps():
    model = _model()
    wrapper = build_optim_wrappers(dict(type="AmpOptimWrapper", dtype="float16", loss_scale=64.0,
                                        optimizer=dict(type="SGD", lr=0.1)), model, device=CPU, amp=False)["model"]
    assert wrapper.dtype == "float16" and wrapper.scaler.get_scale() == 64.0
    before = [p.detach().clone() for p in model.parameters()]
    _step(model, wrapper)
    assert wrapper.scaler.get_scale() == 64.0
    moved = [p.detach().clone() for p in model.parameters()]
    assert any(not torch.equal(a, b) for a, b in zip(before, moved))
    _step(model, wrapper, scale=float("inf"))  # inf gradients: the step is skipped, the scale does not back off
    assert all(torch.equal(a, b.detach()) for a, b in zip(moved, model.parameters()))
    assert wrapper.scaler.get_scale() == 64.0


def test_static_loss_scale_gives_the_unscaled_gradient_step():
    reference, scaled = _model(), _model()
    plain = build_optim_wrappers(dict(optimizer=dict(type="SGD", lr=0.1)), reference, device=CPU, amp=False)["model"]
    amp = build_optim_wrappers(dict(type="AmpOptimWrapper", dtype="float16", loss_scale=1024,
                                    optimizer=dict(type="SGD", lr=0.1)), scaled, device=CPU, amp=False)["model"]
    _step(reference, plain)
    _step(scaled, amp)
    for a, b in zip(reference.parameters(), scaled.parameters()):
        torch.testing.assert_close(a, b, atol=2e-3, rtol=1e-2)  # float16 forward, float32 master weights


def test_dynamic_loss_scale_takes_grad_scaler_arguments():
    model = _model()
    wrapper = build_optim_wrappers(dict(optimizer=dict(type="SGD", lr=0.1), dtype="float16",
                                        loss_scale=dict(init_scale=256.0, growth_interval=1)),
                                   model, device=CPU, amp=True)["model"]
    _step(model, wrapper)
    assert wrapper.scaler.get_scale() == 512.0
    _step(model, wrapper, scale=float("inf"))
    assert wrapper.scaler.get_scale() == 256.0
    assert wrapper.state_dict()["scaler"]["scale"] == 256.0


def test_bfloat16_needs_no_scaler_and_is_the_cpu_default():
    model = _model()
    wrapper = build_optim_wrappers(dict(optimizer=dict(type="SGD", lr=0.1)), model, device=CPU, amp=True)["model"]
    assert wrapper.dtype == "bfloat16" and wrapper.scaler is None
    with wrapper.optim_context(model):
        assert model(torch.zeros(2, 8)).dtype == torch.bfloat16


@pytest.mark.parametrize("extra, words", [(dict(dtype="float8"), "dtype must be one of"),
                                          (dict(loss_scale="static"), "loss_scale must be 'dynamic'"),
                                          (dict(loss_scale=-1.0), "loss_scale must be positive"),
                                          (dict(loss_scale=dict(init=2.0)), "unknown key(s) ['init']"),
                                          (dict(constructor="LearningRateDecayOptimWrapperConstructor"),
                                           "constructor='LearningRateDecayOptimWrapperConstructor' is not supported"),
                                          (dict(paramwise_cfg=dict(norm_decay_multi=0.0)),
                                           "paramwise_cfg.norm_decay_multi is not supported")])
def test_bad_wrapper_options_are_config_errors(extra, words):
    with pytest.raises(ConfigError) as error:
        build_optim_wrappers(dict(type="AmpOptimWrapper", optimizer=dict(type="SGD", lr=0.1), **extra), _model(),
                             device=CPU, amp=False)
    assert words in str(error.value)
