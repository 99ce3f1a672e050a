"""MMagic's ReduceLR stepped by its ReduceLRSchedulerHook (CAIN's and FLAVR's configs): the plateau rule
traced by hand, the monitored value (a validation metric, or the mean training loss per epoch or per
`interval` iterations), its state through a checkpoint, and its config errors."""
from __future__ import annotations

import pytest
import torch

from mgx.core.engine.optim import SchedulerSet, build_optim_wrappers
from mgx.core.errors import ConfigError

HOOK = dict(type="ReduceLRSchedulerHook", by_epoch=True, interval=1, val_metric="MAE")


def _optim(lr: float = 1.0):
    return build_optim_wrappers(dict(optimizer=dict(type="SGD", lr=lr)), torch.nn.Linear(2, 2),
                                device=torch.device("cpu"), amp=False)


def _lr(optims) -> float:
    return optims["model"].optimizer.param_groups[0]["lr"]


def test_validation_metric_plateaus_reduce_the_rate_after_patience_then_cool_down():
    """mode min, factor 0.5, patience 1, cooldown 1, threshold 0.1 (relative): a value counts as better
    only below 0.9·best. Traced: 10 best; 9.5 bad (1); 9.4 bad (2 > 1: halve, cooldown 1); 9.3 bad but
    cooling (counter reset); 9.2 bad (1); 9.1 bad (2: halve); 1.0 better."""
    optims = _optim()
    schedulers = SchedulerSet(dict(type="ReduceLR", mode="min", factor=0.5, patience=1, cooldown=1, threshold=0.1),
                              optims, True, hook=HOOK)
    rates = []
    for value in (10, 9.5, 9.4, 9.3, 9.2, 9.1, 1.0):
        schedulers.after_validation({"MAE": value, "PSNR": 1.0})
        rates.append(_lr(optims))
    assert rates == [1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25]
    state = schedulers.state_dict()
    fresh_optims = _optim(0.25)
    fresh = SchedulerSet(dict(type="ReduceLR", mode="min", factor=0.5, patience=1, cooldown=1, threshold=0.1),
                         fresh_optims, True, hook=HOOK)
    fresh.load_state_dict(state)
    for run, optims_ in ((schedulers, optims), (fresh, fresh_optims)):  # the same next reductions
        for value in (2.0, 3.0):
            run.after_validation({"MAE": value})
    assert _lr(fresh_optims) == _lr(optims) == 0.125
    with pytest.raises(ConfigError, match="val_metric='MAE'.*\\['PSNR'\\]"):
        schedulers.after_validation({"PSNR": 3.0})


def test_training_loss_steps_per_epoch_or_per_interval_iterations():
    """Without val_metric the value is the mean loss: of each epoch (by_epoch), else of every `interval`
    iterations; mode max with an absolute threshold."""
    optims = _optim()
    schedulers = SchedulerSet([dict(type="ReduceLR", mode="max", factor=0.1, patience=0, threshold=0.5,
                                    threshold_mode="abs")], optims, False,
                              hook=dict(type="ReduceLRSchedulerHook", by_epoch=False, interval=2))
    rates = []
    for loss in (1.0, 3.0, 2.0, 2.4, 5.0, 5.0):  # means 2.0 (best), 2.2 (not > 2.5: reduce), 5.0 (better)
        schedulers.step_iteration(torch.tensor(loss))
        rates.append(_lr(optims))
    assert rates == pytest.approx([1.0, 1.0, 1.0, 0.1, 0.1, 0.1])
    optims = _optim()
    per_epoch = SchedulerSet(dict(type="ReduceLR", patience=0), optims, True,
                             hook=dict(type="ReduceLRSchedulerHook"))
    for losses in ((4.0, 2.0), (3.0, 3.0)):  # epoch means 3.0 then 3.0: no improvement, reduce
        for loss in losses:
            per_epoch.step_iteration(torch.tensor(loss))
        assert _lr(optims) == 1.0 or losses == (3.0, 3.0)
        per_epoch.step_epoch()
    assert _lr(optims) == pytest.approx(0.1)


@pytest.mark.parametrize("scheduler, hook, words", [
    (dict(type="ReduceLR"), None, "stepped by default_hooks.param_scheduler"),
    (dict(type="ReduceLR"), dict(type="ParamSchedulerHook"), "ReduceLRSchedulerHook"),
    (dict(type="ReduceLR", factor=1.5), HOOK, "factor must be in"),
    (dict(type="ReduceLR", patiense=3), HOOK, "patiense"),
    ([dict(type="ReduceLR"), dict(type="MultiStepLR", milestones=[1])], HOOK, "cannot be combined"),
    (dict(type="ReduceLR"), dict(HOOK, interval=0), "interval must be a positive int"),
])
def test_bad_reduce_lr_settings_are_config_errors(scheduler, hook, words):
    with pytest.raises(ConfigError, match=words):
        SchedulerSet(scheduler, _optim(), True, hook=hook)
