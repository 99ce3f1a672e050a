"""Loops own their schedule: the engine asks the loop (TrainLoop's ``by_epoch``, ``limit()``,
``total_iters()``) and builds the validation/test loops from ``val_cfg``/``test_cfg``, so a plugin's
loops run as the built-ins do."""
from __future__ import annotations

import io
import json
import re
import tokenize
from pathlib import Path

import pytest

from engine_helpers import REPO, run_mgx, write_tiny_config
from mgx.core.engine.loops import ValLoop, train_loop_from_cfg
from mgx.core.errors import ConfigError
from mgx.core.run.resume import StartPoint, already_finished

LOOPS_MODULE = REPO / "core" / "engine" / "loops.py"
# code (comments stripped) that reads a loop's length or unit, or tells loops apart by class
SECOND_OWNER = [re.compile(p) for p in (
    r"getattr\(\s*\w*loop\w*\s*,",
    r"\bloop\w*\s*\.\s*(max_iters|max_epochs)\b",
    r"__name__\s*==\s*['\"]\w*Loop['\"]",
    r"\bisinstance\(\s*\w*loop\w*\s*,\s*(IterBased|EpochBased)TrainLoop",
    r"train_cfg\w*\s*(\.\s*get\(|\[)",
)]
LOOP_NAMES = re.compile(r"^[rbuf]*['\"](IterBasedTrainLoop|EpochBasedTrainLoop|ValLoop|TestLoop|MultiValLoop|"
                        r"MultiTestLoop)['\"]$")


def _code_and_strings(path: Path) -> tuple[list[str], list[str]]:
    code, strings = [], []
    line: list[str] = []
    for token in tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline):
        if token.type == tokenize.STRING:
            strings.append(token.string)
            line.append(token.string)
        elif token.type in (tokenize.NEWLINE, tokenize.NL):
            code.append(" ".join(line))
            line = []
        elif token.type != tokenize.COMMENT:
            line.append(token.string)
    return code, strings


def test_no_module_but_the_loops_reads_a_loops_schedule_or_checks_its_class() -> None:
    found = []
    for folder in ("core", "plugins", "cli"):
        for path in sorted((REPO / folder).rglob("*.py")):
            if path == LOOPS_MODULE:
                continue
            code, strings = _code_and_strings(path)
            found += [f"{path.relative_to(REPO)}: {text}" for text in code
                      if any(pattern.search(text) for pattern in SECOND_OWNER)]
            found += [f"{path.relative_to(REPO)}: loop name {text}" for text in strings if LOOP_NAMES.match(text)]
    assert found == [], "the train loop's schedule has a second owner:\n" + "\n".join(found)


def test_plugin_loops_run_and_val_cfg_fp16_is_honoured(tmp_path: Path) -> None:
    record = tmp_path / "passes.jsonl"
    config = write_tiny_config(tmp_path, extra=(
        f"train_cfg = dict(type='StepsLoop', steps=2, val_interval=2)\n"
        f"val_cfg = dict(type='RecordingValLoop', record={str(record)!r}, fp16=True)\n"
        f"test_cfg = dict(type='RecordingValLoop', record={str(record)!r})\n"
        "val_evaluator = dict(type='Evaluator', metrics=[dict(type='AmpProbe', fake_nums=2)])\n"
        "default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=1))\n"))
    work_dir = tmp_path / "work"
    result = run_mgx("run", "train", str(config), "--work-dir", str(work_dir), "--no-track", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "training finished at iteration 2" in result.stderr + result.stdout
    result = run_mgx("run", "test", str(config), str(work_dir / "iter_2.pth"), "--work-dir", str(tmp_path / "test"),
                     "--no-track", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    passes = [json.loads(line) for line in record.read_text().splitlines()]
    # validation at step 2 under autocast (val_cfg.fp16), the test pass with the run's setting (no --amp)
    assert passes == [{"Probe/amp": 1.0}, {"Probe/amp": 0.0}]


def test_resume_asks_the_loop_when_the_schedule_is_done(tmp_path: Path) -> None:
    from engine_test_plugin import StepsLoop

    start = StartPoint((tmp_path / "iter_3.pth", {"model": {}, "meta": {"iteration": 3, "epoch": 0}}), "token", None)
    message = already_finished(start, StepsLoop(steps=3), tmp_path)
    assert message is not None and "train_cfg.steps=3" in message and "iteration 3" in message
    assert already_finished(start, StepsLoop(steps=4), tmp_path) is None
    assert StepsLoop(steps=5).total_iters(iters_per_epoch=100) == 5


def test_a_train_cfg_type_that_is_no_training_loop_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="subclasses mgx.core.engine.loops.TrainLoop"):
        train_loop_from_cfg({"type": "ValLoop"}, lambda cfg, kind: ValLoop())


def test_the_pre_flight_checks_the_loop_types_the_command_builds() -> None:
    from mgx.core.plugins import PluginManager
    from mgx.core.run.preflight import component_types
    from mgx.plugins import DEFAULT_PLUGINS

    PluginManager(DEFAULT_PLUGINS).activate()  # type names are looked up (aliases) in the active registry
    cfg = dict(train_cfg=dict(type="StepsLoop", steps=2), val_cfg=dict(type="GenValLoop"), test_cfg=dict(type="T"))
    assert [path for path, _, _ in component_types(cfg, "train")] == ["train_cfg.type", "val_cfg.type"]
    assert [path for path, _, _ in component_types(cfg, "test")] == ["test_cfg.type"]
