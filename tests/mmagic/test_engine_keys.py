"""MMEngine's engine keys in MMagic configs: schedulers by name, optimizer constructors,
paramwise_cfg, auto_scale_lr, resume, env_cfg and friends — each against its definition."""
from __future__ import annotations

import math

import pytest
import torch

from mgx.core.errors import ConfigError
from mgx.core.engine.optim import SchedulerSet, build_optim_wrappers
from mgx.core.run.prepared import PreparedRun

CPU = torch.device("cpu")


class TwoNets(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.generator = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4),
                                             torch.nn.Conv2d(4, 4, 3, groups=4))
        self.discriminator = torch.nn.Linear(4, 1)


def _optims(lr=0.1, **extra):
    cfg = dict(constructor="MultiOptimWrapperConstructor",
               generator=dict(optimizer=dict(type="SGD", lr=lr)), discriminator=dict(optimizer=dict(type="SGD", lr=lr)),
               **extra)
    return build_optim_wrappers(cfg, TwoNets(), device=CPU, amp=False)


def _lrs(schedulers, optims, steps, by_epoch=False):
    values = []
    for _ in range(steps):
        values.append(optims["generator"].get_lr())
        (schedulers.step_epoch if by_epoch else schedulers.step_iteration)()
    return values


def test_multistep_lr_with_milestones_relative_to_begin():
    optims = _optims()
    schedulers = SchedulerSet([dict(type="MultiStepLR", by_epoch=False, milestones=[3, 5], gamma=0.5, begin=2)],
                              optims, default_by_epoch=False)
    expected = [0.1 * 0.5 ** sum(1 for m in (3, 5) if step >= 2 and m <= step - 2) for step in range(10)]
    assert _lrs(schedulers, optims, 10) == pytest.approx(expected, rel=1e-12)


def test_linear_warmup_then_cosine_annealing():
    optims = _optims()
    schedulers = SchedulerSet([dict(type="LinearLR", start_factor=0.01, by_epoch=False, begin=0, end=5),
                               dict(type="CosineAnnealingLR", T_max=20, eta_min=0.0, by_epoch=False, begin=5, end=25)],
                              optims, default_by_epoch=False)

    def definition(step):
        if step < 5:
            return 0.1 * (0.01 + (1 - 0.01) * min(step, 4) / 4)
        t = min(step, 24) - 5
        return 0.1 * (1 + math.cos(math.pi * t / 20)) / 2

    assert _lrs(schedulers, optims, 30) == pytest.approx([definition(s) for s in range(30)], rel=1e-12, abs=1e-15)


def test_poly_and_cosine_restart():
    optims = _optims()
    poly = SchedulerSet(dict(type="PolyLR", power=2.0, eta_min=0.001, begin=0, end=11, by_epoch=False), optims, False)
    assert _lrs(poly, optims, 14) == pytest.approx(
        [(0.1 - 0.001) * (1 - min(s, 10) / 10) ** 2 + 0.001 for s in range(14)], rel=1e-12)
    optims = _optims()
    restart = SchedulerSet(dict(type="CosineRestartLR", periods=[4, 6], restart_weights=[1, 0.5], eta_min=0.01,
                                by_epoch=False), optims, False)

    def definition(step):
        start, period, weight = (0, 4, 1.0) if step < 4 else (4, 6, 0.5)
        return 0.01 + weight * (0.1 - 0.01) * (1 + math.cos(math.pi * (step - start) / period)) / 2

    assert _lrs(restart, optims, 10) == pytest.approx([definition(s) for s in range(10)], rel=1e-12)


def test_epoch_schedule_converted_to_iterations():
    optims = _optims()
    schedulers = SchedulerSet(dict(type="MultiStepLR", by_epoch=True, milestones=[2], gamma=0.1,
                                   convert_to_iter_based=True), optims, default_by_epoch=False, iters_per_epoch=3)
    assert _lrs(schedulers, optims, 8) == pytest.approx([0.1] * 6 + [0.01] * 2, rel=1e-12)


def test_per_optimizer_schedulers_and_resume_gives_the_same_rate():
    optims = _optims()
    cfg = dict(generator=dict(type="ExponentialLR", gamma=0.9, by_epoch=False),
               discriminator=[dict(type="ConstantLR", factor=0.5, begin=0, end=3, by_epoch=False)])
    schedulers = SchedulerSet(cfg, optims, False)
    for _ in range(4):
        schedulers.step_iteration()
    state = schedulers.state_dict()
    assert optims["generator"].get_lr() == pytest.approx(0.1 * 0.9 ** 4, rel=1e-12)
    assert optims["discriminator"].get_lr() == pytest.approx(0.1, rel=1e-12)
    fresh_optims = _optims()
    fresh = SchedulerSet(cfg, fresh_optims, False)
    fresh.load_state_dict(state)
    assert fresh_optims["generator"].get_lr() == optims["generator"].get_lr()


def test_mmagic_linear_lr_interval_uses_factors_as_rates():
    optims = _optims(lr=2e-4)
    schedulers = SchedulerSet(dict(type="LinearLrInterval", interval=2, by_epoch=False, start_factor=2e-4,
                                   end_factor=0, begin=4, end=12), optims, False)
    expected = [2e-4 if s < 4 else 2e-4 * (1 - ((min(s, 11) - 4) // 2) / 4) for s in range(14)]
    assert _lrs(schedulers, optims, 14) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("item, words", [
    (dict(type="ReduceLR", mode="min"), "stepped by default_hooks.param_scheduler=dict\\(type='ReduceLRSchedulerHook'"),
    (dict(type="MultiStepLR", milestones=[1], gama=0.1), "unexpected keyword argument 'gama'"),
    (dict(type="CosineAnnealingMomentum", begin=0), "unknown scheduler"),
    (dict(type="LinearLR", start_factor="low"), "start_factor='low': expected a number"),
])
def test_bad_schedulers_are_config_errors(item, words):
    with pytest.raises(ConfigError, match=words):
        SchedulerSet([item], _optims(), False)


def test_constructors_and_paramwise_groups():
    model = TwoNets()
    cfg = dict(constructor="DefaultOptimWrapperConstructor",
               optimizer=dict(type="SGD", lr=0.1, weight_decay=1e-2),
               paramwise_cfg=dict(custom_keys={"discriminator": dict(lr_mult=0.1, decay_mult=0.0)},
                                  norm_decay_mult=0.0, bias_decay_mult=0.5, dwconv_decay_mult=2.0))
    optimizer = build_optim_wrappers(cfg, model, device=CPU, amp=False)["model"].optimizer
    setting = {}
    for group in optimizer.param_groups:
        for param in group["params"]:
            setting[id(param)] = (group["lr"], group["weight_decay"])
    gen = model.generator
    assert setting[id(model.discriminator.weight)] == pytest.approx((0.01, 0.0))
    assert setting[id(model.discriminator.bias)] == pytest.approx((0.01, 0.0))
    assert setting[id(gen[0].weight)] == pytest.approx((0.1, 1e-2))
    assert setting[id(gen[0].bias)] == pytest.approx((0.1, 5e-3))
    assert setting[id(gen[1].weight)] == pytest.approx((0.1, 0.0))  # BatchNorm: norm_decay_mult
    assert setting[id(gen[2].weight)] == pytest.approx((0.1, 2e-2))  # depth-wise conv
    with pytest.raises(ConfigError, match="constructor='LayerDecayOptimWrapperConstructor' is not supported"):
        build_optim_wrappers({**cfg, "constructor": "LayerDecayOptimWrapperConstructor"}, model, device=CPU, amp=False)
    with pytest.raises(ConfigError, match="paramwise_cfg.norm_decay_mul is not supported. Did you mean "
                                          "optim_wrapper.paramwise_cfg.norm_decay_mult"):
        build_optim_wrappers({**cfg, "paramwise_cfg": dict(norm_decay_mul=0.0)}, model, device=CPU, amp=False)


def test_optimizer_argument_problems_name_key_value_and_type():
    with pytest.raises(ConfigError, match=r"optim_wrapper.generator.optimizer.lr='fast': expected a number, got str"):
        _optims(lr="fast")
    with pytest.raises(ConfigError, match=r"optim_wrapper.optimizer.momentun is not an argument of SGD. "
                                          r"Did you mean optim_wrapper.optimizer.momentum\?"):
        build_optim_wrappers(dict(optimizer=dict(type="SGD", lr=0.1, momentun=0.9)), TwoNets(), device=CPU, amp=False)


def test_auto_scale_lr_resume_and_wrapper_settings():
    prepared = PreparedRun(dict(auto_scale_lr=dict(enable=True, base_batch_size=16), resume=True,
                                model_wrapper_cfg=dict(type="MMSeparateDistributedDataParallel",
                                                       find_unused_parameters=True, broadcast_buffers=True),
                                env_cfg=dict(dist_cfg=dict(backend="gloo", timeout=120))))
    assert prepared.lr_scale(world_size=2, batch_size=4) == 0.5
    optims = build_optim_wrappers(dict(optimizer=dict(type="SGD", lr=0.1)), TwoNets(), device=CPU, amp=False,
                                  lr_scale=prepared.lr_scale(2, 4))
    assert optims["model"].get_lr() == pytest.approx(0.05)
    assert prepared.resume(None) == "auto" and prepared.resume("ckpt.pth") == "ckpt.pth"
    assert PreparedRun(dict(resume="work/iter_10.pth")).resume(None) == "work/iter_10.pth"
    assert PreparedRun(dict(resume=False)).resume(None) is None
    assert prepared.ddp_options == {"find_unused_parameters": True, "broadcast_buffers": True}
    assert prepared.dist_backend == "gloo" and prepared.dist_timeout == 120.0
    assert PreparedRun(dict(auto_scale_lr=dict(enable=False, base_batch_size=16))).lr_scale(8, 8) == 1.0
    with pytest.raises(ConfigError, match="auto_scale_lr.base_batch_size must be a positive integer"):
        PreparedRun(dict(auto_scale_lr=dict(enable=True))).lr_scale(1, 1)
