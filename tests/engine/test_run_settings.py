"""A run's flag-versus-config decisions have one owner (core/run/settings.py: RunSettings,
resolved once), and its set-up and teardown one owner (core/run/session.py: RunSession)
that ``train`` and ``test`` both use."""
from __future__ import annotations

import ast
import contextlib
import json
import logging
from pathlib import Path

import pytest

from engine_helpers import REPO, write_tiny_config
from mgx.core.config import load_config
from mgx.core.errors import ConfigError
from mgx.core.run.settings import RunOptions, RunSettings

SETTINGS_MODULE = REPO / "core" / "run" / "settings.py"
# what RunSettings decides from a flag and the config
OPTION_FIELDS = {"work_dir", "amp", "resume", "seed", "deterministic", "launcher", "tracking", "out", "run_tags",
                 "config_path"}
CONFIG_KEYS = {"work_dir", "resume", "randomness", "tracking", "tracking_uri"}


def _receiver(node: ast.AST) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def _second_owners(path: Path) -> list[str]:
    """Reads of a RunOptions field or of a config key that RunSettings resolves."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load) and node.attr in OPTION_FIELDS
                and _receiver(node.value) == "options"):
            found.append(f"{path.relative_to(REPO)}:{node.lineno} reads options.{node.attr}")
        key = None
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
                and node.args and _receiver(node.func.value) in ("cfg", "config")):
            key = node.args[0]
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and _receiver(node.value) in ("cfg", "config"):
            key = node.slice
        if isinstance(key, ast.Constant) and key.value in CONFIG_KEYS:
            found.append(f"{path.relative_to(REPO)}:{node.lineno} reads the config's {key.value!r}")
    return found


def test_flag_versus_config_is_decided_only_in_settings():
    files = [path for folder in ("core", "cli", "plugins") for path in (REPO / folder).rglob("*.py")
             if path != SETTINGS_MODULE and "__pycache__" not in path.parts]
    assert len(files) > 50
    offenders = [line for path in files for line in _second_owners(path)]
    assert not offenders, ("decide these in core/run/settings.py (RunSettings) and read the settings:\n"
                           + "\n".join(offenders))
    assert _second_owners(SETTINGS_MODULE)  # the scan sees what it looks for


def _settings(tmp_path: Path, config: str, **options) -> RunSettings:
    path = tmp_path / "cfg.py"
    path.write_text(config)
    return RunSettings.resolve(load_config(path), RunOptions(config_path=path, **options))


def test_flags_win_over_the_config_which_wins_over_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = ("work_dir = 'from_config'\nresume = True\nrandomness = dict(seed=5, deterministic=True)\n"
              "tracking = dict(experiment='config-exp', run_name='config-run')\ntracking_uri = 'sqlite:///c.db'\n")
    from_config = _settings(tmp_path, config)
    assert from_config.work_dir == tmp_path / "from_config" and from_config.work_dir.is_absolute()
    assert (from_config.resume, from_config.seed(), from_config.deterministic, from_config.amp) == ("auto", 5, True, False)
    assert (from_config.tracking.experiment, from_config.tracking.run_name) == ("config-exp", "config-run")
    assert from_config.tracking.tracking_uri == "sqlite:///c.db"

    flags = _settings(tmp_path, config, work_dir=Path("flag_dir"), resume="ckpt.pth", seed=9, amp=True,
                      tracking={"experiment": "flag-exp", "tracking_uri": None, "enabled": False})
    assert (flags.work_dir, flags.resume, flags.seed(), flags.amp) == (tmp_path / "flag_dir", "ckpt.pth", 9, True)
    assert (flags.tracking.experiment, flags.tracking.run_name, flags.tracking.enabled) == ("flag-exp", "config-run", False)
    assert flags.tracking.tracking_uri == "sqlite:///c.db"  # a flag left out (None) falls through to the config

    defaults = _settings(tmp_path, "a = 1\n")
    assert defaults.work_dir == tmp_path / "work_dirs" / "cfg"
    assert (defaults.resume, defaults.seed(), defaults.deterministic, defaults.out) == (None, None, False, None)


def test_seed_order_flag_then_resumed_run_then_config(tmp_path):
    config = "randomness = dict(seed=5)\n"
    assert _settings(tmp_path, config).seed(resumed_seed=11) == 11
    assert _settings(tmp_path, config, seed=3).seed(resumed_seed=11) == 3
    assert _settings(tmp_path, "a = 1\n").seed(resumed_seed=None) is None


def test_a_list_of_seeds_seeds_the_run_with_its_first(tmp_path):
    # MMagic's AnimateDiff configs give one seed per prompt, some above 2**63
    assert _settings(tmp_path, "randomness = dict(seed=[10917152860782582783, 6])\n").seed() == 10917152860782582783
    with pytest.raises(ConfigError, match="randomness.seed"):
        _settings(tmp_path, "randomness = dict(seed=['a'])\n")


def test_bad_resume_value_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="resume must be True, False or a checkpoint path"):
        _settings(tmp_path, "resume = 3\n")


@pytest.fixture
def plugins(monkeypatch):
    from mgx.core.plugins import PluginManager
    from mgx.plugins import DEFAULT_PLUGINS

    monkeypatch.setenv("MGX_PLUGINS", "engine_test_plugin")
    return PluginManager(DEFAULT_PLUGINS).activate()


@pytest.mark.parametrize("body_raises", [False, True])
def test_session_sets_up_from_the_settings_and_tears_down(tmp_path, plugins, body_raises):
    from mgx.core.run.context import RunContext
    from mgx.core.run.session import RunSession

    hooks_file = tmp_path / "hooks.jsonl"
    path = write_tiny_config(tmp_path, extra=f"custom_hooks = [dict(type='RecordingHook', path={str(hooks_file)!r})]\n")
    cfg = load_config(path)
    options = RunOptions(config_path=path, work_dir=tmp_path / "w", tracking={"enabled": False})
    session = RunSession(cfg, options, plugins, "train")
    with pytest.raises(RuntimeError) if body_raises else contextlib.nullcontext():
        with session:
            assert session.work_dir == session.settings.work_dir == (tmp_path / "w").resolve()
            assert session.work_dir.is_dir() and session.log_path.parent == session.work_dir
            session.apply_seed(resumed_seed=11)  # no --seed: the resumed run's seed before the config's 7
            assert session.seed == 11 and cfg["randomness"]["seed"] == 11
            session.begin(RunContext(cfg=cfg, work_dir=session.work_dir, mode="train", logger=session.logger))
            session.status = "KILLED"
            if body_raises:
                raise RuntimeError("boom")
    status = "FAILED" if body_raises else "KILLED"
    assert [json.loads(line) for line in hooks_file.read_text().splitlines()] == [
        {"hook": "after_run", "status": status, "iteration": 0}]
    plugins.hook.mgx_after_run(run=session.run, status="FINISHED")  # the config's hook listened to that run only
    assert len(hooks_file.read_text().splitlines()) == 1
    assert logging.getLogger("mgx").handlers == []
