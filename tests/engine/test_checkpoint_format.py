"""One owner for the checkpoint format (issue 17, item 2): ``mgx.core.engine.checkpoint_state``.

A checkpoint in today's on-disk layout (written out literally here) and one in the first
layout mgx wrote load and restore; a checkpoint the trainer writes is read the same by the
resume, run-record, model-registry and CLI paths; and no module but the owner indexes a
checkpoint by its key names (a source scan of core/, cli/ and plugins/)."""
from __future__ import annotations

import ast
import logging
import random
from dataclasses import fields
from pathlib import Path

import pytest
import torch
from torch import nn

from engine_helpers import REPO, run_mgx, write_tiny_config
from mgx.core.engine.checkpoint import load_checkpoint, read_checkpoint
from mgx.core.engine.checkpoint_state import (CheckpointError, CheckpointMeta, CheckpointState, SessionState)
from mgx.core.engine.ema import ExponentialMovingAverage
from mgx.core.engine.loops import IterBasedTrainLoop
from mgx.core.engine.optim import SchedulerSet, build_optim_wrappers
from mgx.core.engine.randomness import capture_rng_state
from mgx.core.errors import ConfigError

WEIGHT, BIAS = [[0.5, -0.25]], [0.125]
EMA_WEIGHT, EMA_BIAS = [[0.375, -0.125]], [0.0625]
MOMENTUM_W, MOMENTUM_B = [[0.015625, -0.03125]], [0.046875]  # exact in float32


def _todays_layout(rng: list) -> dict:
    """What ``Trainer.checkpoint_state`` writes today, key for key and in order."""
    return {
        "format": 1,
        "mgx_version": "0.1.0",
        "meta": {"kind": "interval", "iteration": 7, "epoch": 0, "by_epoch": False, "batch_size": 4, "world_size": 1,
                 "model_class": "Linear", "seed": 11, "best_key": "PSNR/psnr", "best_score": 21.5,
                 "best_path": "best_PSNR_psnr_iter_6.pth", "tracking_run_id": "run-old",
                 "run_token": "0123456789abcdef", "validation_pending": True, "saved_at": 1700000000.0,
                 "config_text": "model = dict(type='Linear')\n"},
        "model": {"weight": torch.tensor(WEIGHT), "bias": torch.tensor(BIAS)},
        "ema": {"weight": torch.tensor(EMA_WEIGHT), "bias": torch.tensor(EMA_BIAS)},
        "optimizers": {"model": {
            "optimizer": {"state": {0: {"momentum_buffer": torch.tensor(MOMENTUM_W)},
                                    1: {"momentum_buffer": torch.tensor(MOMENTUM_B)}},
                          "param_groups": [{"lr": 0.05, "momentum": 0.9, "dampening": 0, "weight_decay": 0,
                                            "nesterov": False, "maximize": False, "foreach": None,
                                            "differentiable": False, "fused": None, "initial_lr": 0.1,
                                            "params": [0, 1]}]},
            "scaler": None, "micro_steps": 0}},
        "schedulers": [],
        "rng": rng,
        "session": {"log_window": {"sums": {"loss": 1.5}, "count": 3, "step_time": 0.25, "data_time": 0.125},
                    "validation_pending": True},
        "extra": {"my_hook": {"counter": 3}},
    }


def _first_layout(rng: list) -> dict:
    """The layout mgx's first engine wrote: no run token, no owed validation, no session."""
    state = _todays_layout(rng)
    del state["meta"]["run_token"], state["meta"]["validation_pending"], state["session"]
    return state


def _same(one, other) -> bool:
    if isinstance(one, dict):
        return isinstance(other, dict) and list(one) == list(other) and all(_same(one[k], other[k]) for k in one)
    if isinstance(one, (list, tuple)):
        return type(one) is type(other) and len(one) == len(other) and all(map(_same, one, other))
    if isinstance(one, torch.Tensor):
        return isinstance(other, torch.Tensor) and torch.equal(one, other)
    return one == other and type(one) is type(other)


def _training_parts():
    model = nn.Linear(2, 1)
    optim = build_optim_wrappers({"optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9}}, model,
                                 device=torch.device("cpu"), amp=False)
    return model, ExponentialMovingAverage(model, momentum=0.5), optim, SchedulerSet(None, optim, False, 1)


def _rng_then_draw() -> tuple[list, float]:
    """The RNG state of this process (as the trainer saves it: one per rank) and the next draw after it."""
    states = [capture_rng_state()]
    return states, random.random()


@pytest.mark.parametrize("layout", [_todays_layout, _first_layout], ids=["today", "first"])
def test_a_checkpoint_in_a_known_layout_loads_and_restores(tmp_path, layout):
    rng, next_draw = _rng_then_draw()
    written = layout(rng)
    path = tmp_path / "iter_7.pth"
    torch.save(written, path)
    state = read_checkpoint(path)
    assert state.meta.iteration == 7 and state.meta.seed == 11 and state.meta.best_score == 21.5
    assert state.meta.best_path == "best_PSNR_psnr_iter_6.pth" and state.meta.tracking_run_id == "run-old"
    today = layout is _todays_layout
    assert state.meta.run_token == ("0123456789abcdef" if today else None)
    assert state.session == (SessionState({"loss": 1.5}, 3, 0.25, 0.125, True) if today else SessionState())
    assert state.extra == {"my_hook": {"counter": 3}} and state.mgx_version == "0.1.0"

    model, ema, optim, schedulers = _training_parts()
    random.random()
    state.restore(model=model, ema=ema, optim=optim, schedulers=schedulers, rank=0, source=str(path))
    assert random.random() == next_draw  # this rank's RNG state is back
    assert model.weight.tolist() == WEIGHT and model.bias.tolist() == BIAS
    assert ema.module.weight.tolist() == EMA_WEIGHT and ema.module.bias.tolist() == EMA_BIAS
    sgd = optim["model"].optimizer
    assert sgd.param_groups[0]["lr"] == 0.05
    assert sgd.state[model.weight]["momentum_buffer"].tolist() == MOMENTUM_W
    assert sgd.state[model.bias]["momentum_buffer"].tolist() == MOMENTUM_B

    if today:  # written back, today's layout is the very dict that was read
        rewritten = state.to_dict()
        assert list(rewritten) == ["format", "mgx_version", "meta", "model", "ema", "optimizers", "schedulers", "rng",
                                   "session", "extra"]
        assert _same(rewritten, written)


def test_weights_only_and_foreign_files(tmp_path):
    mmengine = tmp_path / "mmagic.pth"
    torch.save({"meta": {"epoch": 3}, "state_dict": {"weight": torch.tensor(WEIGHT), "bias": torch.tensor(BIAS)}},
               mmengine)
    state = read_checkpoint(mmengine)
    assert state.model["weight"].tolist() == WEIGHT and state.optimizers is None
    model, ema, optim, schedulers = _training_parts()
    with pytest.raises(CheckpointError, match="holds weights only.*load_from="):
        state.restore(model=model, ema=None, optim=optim, schedulers=schedulers, rank=0, source=str(mmengine))
    no_ema = _todays_layout([]) | {"ema": None}
    with pytest.raises(ConfigError, match="no EMA weights but the config sets ema_config"):
        CheckpointState.from_dict(no_ema, "x.pth").restore(model=model, ema=ema, optim=optim, schedulers=schedulers,
                                                            rank=0, source="x.pth")
    foreign = tmp_path / "other.pth"
    torch.save({"weights": {}}, foreign)
    with pytest.raises(CheckpointError, match="not an mgx checkpoint"):
        read_checkpoint(foreign)
    as_file = CheckpointState.weights_only({"weight": torch.zeros(1)}, CheckpointMeta(iteration=4, model_uri="m"))
    assert as_file.to_dict()["meta"]["model_uri"] == "m" and "model_uri" not in CheckpointMeta().to_dict()


# -- a checkpoint the trainer writes, read by every path that reads one ----------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict:
    """2 iterations of the tiny DCGAN (EMA on, no validation) continuing a training whose run
    record names MLflow run 'run-format' (killed before its first checkpoint), tracking off."""
    from mgx.core.run.record import write_run_record

    tmp_path = tmp_path_factory.mktemp("format")
    no_validation = "\nval_dataloader = None\nval_evaluator = None\ndefault_hooks['checkpoint']['save_best'] = None\n"
    config = write_tiny_config(tmp_path, max_iters=2, val_interval=100, ckpt_interval=1, extra=no_validation)
    work = tmp_path / "work"
    work.mkdir()
    write_run_record(work, "tok-format", "run-format")
    done = run_mgx("run", "train", str(config), "--work-dir", str(work), "--no-track", "--resume", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    return {"work": work, "config": config}


def test_the_trainers_checkpoint_reads_the_same_through_every_path(trained):
    from mgx.cli.context import plugin_manager
    from mgx.cli.run_record_options import _check_checkpoint_run
    from mgx.core.config import load_config
    from mgx.core.run.record import checkpoint_meta, checkpoints_of_run
    from mgx.core.run.resume import already_finished, start_point
    from mgx.core.tracking.model_registry import network_from_checkpoint

    work = trained["work"]
    path = work / "iter_2.pth"
    on_disk = torch.load(path, map_location="cpu", weights_only=True)
    assert list(on_disk) == ["format", "mgx_version", "meta", "model", "ema", "optimizers", "schedulers", "rng",
                             "session", "extra"]
    assert set(on_disk["meta"]) == {f.name for f in fields(CheckpointMeta)} - {"other", "model_uri"}
    state = read_checkpoint(path)
    assert (state.meta.iteration, state.meta.run_token, state.meta.tracking_run_id) == (2, "tok-format", "run-format")
    assert state.meta.kind == "interval" and state.meta.model_class == "DCGAN" and state.meta.seed == 7

    start = start_point("auto", work, logging.getLogger("test"))  # resume
    assert start.checkpoint[0] == path and start.run_token == "tok-format" and start.tracking_run_id == "run-format"
    assert start.state.meta == state.meta and start.state.session == state.session
    two, four = IterBasedTrainLoop(max_iters=2), IterBasedTrainLoop(max_iters=4)
    assert "already finished at iteration 2" in already_finished(start, two, work)
    assert already_finished(start, four, work) is None

    assert checkpoints_of_run(work, "tok-format") == [work / "iter_1.pth", path]  # run record
    assert checkpoints_of_run(work, "another-training") == []
    assert checkpoint_meta(path) == state.meta

    plugin_manager()  # the registry builds the DCGAN of the config
    model_cfg = dict(load_config(str(trained["config"]))["model"])  # model registry
    for use_ema, which in ((True, "ema"), (False, "model")):
        network, used = network_from_checkpoint(model_cfg, state, use_ema)
        assert used == which
        expected = on_disk[which]
        assert all(torch.equal(value, expected[key]) for key, value in network.state_dict().items())
    assert not all(torch.equal(on_disk["ema"][key], value) for key, value in on_disk["model"].items())

    _check_checkpoint_run(path, "run-format")  # the CLI's --resume-run check
    with pytest.raises(ConfigError, match="records MLflow run 'run-format'"):
        _check_checkpoint_run(path, "run-other")
    assert load_checkpoint(path)["meta"]["iteration"] == 2  # what the hooks see: the on-disk dict


# -- no second owner ---------------------------------------------------------------------------

OWNER = REPO / "core" / "engine" / "checkpoint_state.py"
#: key names other dicts share (configs, run records, sampler states, request frames); a reader of
#: a checkpoint's meta still shows through ``meta`` and of its weights through ``model`` (below)
SHARED_WORDS = {"iteration", "epoch", "seed", "by_epoch", "batch_size", "world_size", "count", "data_time", "kind",
                "format", "run_token", "tracking_run_id", "model_uri"}


def _checkpoint_keys() -> set[str]:
    session = SessionState().to_dict()
    return (set(CheckpointState(model={}).to_dict()) | {f.name for f in fields(CheckpointMeta)} | set(session)
            | set(session["log_window"]) | {"state_dict"}) - {"other"} - SHARED_WORDS


def _key_uses(source: str, keys: set[str]) -> list[tuple[int, str]]:
    """(line, code) of every ``x[KEY]``, ``x.get(KEY)``/``pop``/``setdefault``, ``KEY in x`` and
    ``{KEY: ...}``, on something that is not a config (``cfg["model"]``, ``"optimizer" in wrapper_cfg``)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript):
            key, on = node.slice, node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args \
                and node.func.attr in ("get", "pop", "setdefault"):
            key, on = node.args[0], node.func.value
        elif isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops):
            key, on = node.left, node.comparators[0]
        elif isinstance(node, ast.Dict):
            found += [(k.lineno, ast.unparse(node)[:100]) for k in node.keys
                      if isinstance(k, ast.Constant) and k.value in keys and k.value != "model"]
            continue
        else:
            continue
        if not isinstance(key, ast.Constant) or key.value not in keys:
            continue
        if any(word in ast.unparse(on) for word in ("cfg", "config", "params")):
            continue  # a config's keys (model=, optimizer=) share names with the checkpoint's
        found.append((node.lineno, ast.unparse(node)[:100]))
    return found


def test_the_scan_finds_a_second_reader_or_writer():
    keys = _checkpoint_keys()
    assert {"meta", "model", "ema", "optimizers", "rng", "session", "best_score", "state_dict"} <= keys
    second_owner = ("step = state.get('meta', {}).get('iteration', 0)\nweights = state['model']\n"
                    "if 'ema' in state: pass\ntorch.save({'model': w, 'optimizers': o}, p)\nuse(cfg['model'])\n")
    assert sorted(line for line, _ in _key_uses(second_owner, keys)) == [1, 2, 3, 4]


def test_no_module_but_the_owner_indexes_checkpoint_keys():
    keys = _checkpoint_keys()
    offenders = [f"{path.relative_to(REPO)}:{line}: {code}"
                 for folder in ("core", "cli", "plugins") for path in sorted((REPO / folder).rglob("*.py"))
                 if path != OWNER for line, code in _key_uses(path.read_text(encoding="utf-8"), keys)]
    assert not offenders, ("read and write checkpoints through mgx.core.engine.checkpoint_state "
                           "(CheckpointState/CheckpointMeta), not by key:\n" + "\n".join(offenders))
