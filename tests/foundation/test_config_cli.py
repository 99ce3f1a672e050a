"""``mgx config show``: round trip, ``--cfg-options`` forms, and one-line errors with exit code 2."""
from __future__ import annotations

import math

import pytest

from foundation_helpers import REPO_ROOT, run_mgx
from mgx.core.config import dump_config, load_config
from mgx.core.errors import ConfigError

RICH = """
_base_ = 'base.py'
model = dict(
    type='Net', channels=[16, 32, 64], norm=None, act=('relu', 0.2),
    generator=dict(type='G', latent_dim=128, style=dict(depth=8, lr_mul=0.01, names=['a', "b'c"])),
)
scale = 1e-8
neg = -3
flag = False
inf_value = float('inf')
mapping = {1: 'one', 'not an identifier': 2, 'class': 3}
empty = dict(l=[], t=(), d={})
single = (5,)
long_list = [dict(type='Step%d' % i, size=i) for i in range(6)]
"""


@pytest.fixture
def rich_cfg(tmp_path):
    (tmp_path / "base.py").write_text("seed = 7\nmodel = dict(type='Base', pretrained='x.pth')\n")
    path = tmp_path / "rich.py"
    path.write_text(RICH)
    return path


def _round_trip(tmp_path, text: str):
    dumped = tmp_path / "dumped.py"
    dumped.write_text(text)
    return load_config(dumped)


def test_show_prints_python_that_loads_back_to_the_same_config(invoke, rich_cfg, tmp_path):
    result = invoke(["config", "show", str(rich_cfg)])
    assert result.exit_code == 0, result.output
    # the one start-up warning names the top-level helper values mgx does not read
    assert result.stderr.count("\n") == 1 and "(ignored): seed, scale, neg, flag" in result.stderr
    original = load_config(rich_cfg)
    assert original.model.pretrained == "x.pth" and original.seed == 7
    assert _round_trip(tmp_path, result.stdout) == original
    assert math.isinf(original.inf_value)
    assert "_base_" not in result.stdout


def test_dump_config_round_trips_directly(rich_cfg, tmp_path):
    cfg = load_config(rich_cfg)
    again = _round_trip(tmp_path, dump_config(cfg))
    assert again == cfg
    assert type(again.single) is tuple and type(again.model.channels) is list


def test_dump_refuses_values_python_cannot_express():
    with pytest.raises(ConfigError, match="cannot be written as Python"):
        dump_config({"a": {1, 2}})


@pytest.mark.parametrize("args", [
    ["--cfg-options", "model.channels.0=8", "seed=3", "model.generator.style.depth=2"],  # mmengine's form
    ["--cfg-options", "model.channels.0=8", "--cfg-options", "seed=3",
     "--cfg-options", "model.generator.style.depth=2"],  # repeated flags
    ["--cfg-options", "model.channels.0=8 seed=3 model.generator.style.depth=2"],  # one quoted argument
])
def test_cfg_options_forms_on_the_cli(invoke, rich_cfg, tmp_path, args):
    result = invoke(["config", "show", str(rich_cfg), *args])
    assert result.exit_code == 0, result.output
    cfg = _round_trip(tmp_path, result.stdout)
    assert cfg.model.channels == [8, 32, 64] and cfg.seed == 3 and cfg.model.generator.style.depth == 2


def test_cfg_options_before_the_config_argument(invoke, rich_cfg, tmp_path):
    result = invoke(["config", "show", "--cfg-options", "seed=3", "neg=[1, 2]", str(rich_cfg)])
    assert result.exit_code == 0, result.output
    cfg = _round_trip(tmp_path, result.stdout)
    assert (cfg.seed, cfg.neg) == (3, [1, 2])


def test_quoted_values_with_spaces_stay_one_item(invoke, rich_cfg, tmp_path):
    result = invoke(["config", "show", str(rich_cfg), "--cfg-options", "name='a b' model.channels=[1, 2]"])
    assert result.exit_code == 0, result.output
    cfg = _round_trip(tmp_path, result.stdout)
    assert cfg.name == "a b" and cfg.model.channels == [1, 2]


def _error_cases(tmp_path):
    (tmp_path / "syntax.py").write_text("a = 1\nb = [1, 2\nc = 3\n")
    (tmp_path / "needs_base.py").write_text("_base_ = 'gone.py'\n")
    (tmp_path / "cycle_a.py").write_text("_base_ = 'cycle_b.py'\n")
    (tmp_path / "cycle_b.py").write_text("_base_ = 'cycle_a.py'\n")
    (tmp_path / "ok.py").write_text("a = dict(b=[1])\n")
    return {
        "syntax": (["syntax.py"], [f"syntax error in config {tmp_path / 'syntax.py'}, line 2", "b = [1, 2"]),
        "missing base": (["needs_base.py"], [str(tmp_path / "gone.py"), f"listed in _base_ of {tmp_path / 'needs_base.py'}"]),
        "cycle": (["cycle_a.py"], [f"{tmp_path / 'cycle_a.py'} -> {tmp_path / 'cycle_b.py'} -> {tmp_path / 'cycle_a.py'}"]),
        "bad option": (["ok.py", "--cfg-options", "a.b.3=1"], ["--cfg-options item 'a.b.3=1'", "out of range"]),
        "no equals": (["ok.py", "--cfg-options", "a.b=1", "--cfg-options", "oops"], ["--cfg-options item 'oops'", "no '='"]),
        "missing file": (["absent.py"], ["absent.py does not exist"]),
    }


@pytest.mark.parametrize("case", ["syntax", "missing base", "cycle", "bad option", "no equals", "missing file"])
def test_config_errors_are_one_message_and_exit_2(invoke, tmp_path, monkeypatch, case):
    monkeypatch.chdir(tmp_path)
    args, expected = _error_cases(tmp_path)[case]
    result = invoke(["config", "show", *[str(tmp_path / arg) if arg.endswith(".py") else arg for arg in args]])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr
    for fragment in expected:
        assert fragment in result.stderr


def test_debug_shows_the_traceback(invoke, tmp_path):
    (tmp_path / "needs_base.py").write_text("_base_ = 'gone.py'\n")
    result = invoke(["--debug", "config", "show", str(tmp_path / "needs_base.py")])
    assert isinstance(result.exception, ConfigError)  # re-raised for the traceback
    assert result.exit_code != 0


def test_real_command_error_output_without_and_with_debug(tmp_path):
    (tmp_path / "syntax.py").write_text("a = (\n")
    quiet = run_mgx("config", "show", "syntax.py", cwd=tmp_path)
    assert quiet.returncode == 2
    assert quiet.stderr.startswith("error: syntax error in config") and "Traceback" not in quiet.stderr
    assert len(quiet.stderr.strip().splitlines()) == 2  # the message and the offending line
    loud = run_mgx("--debug", "config", "show", "syntax.py", cwd=tmp_path)
    assert loud.returncode != 0
    assert "Traceback (most recent call last)" in loud.stderr and "ConfigError" in loud.stderr


@pytest.mark.timeout(120)
@pytest.mark.parametrize("override, expected", [
    ("model = dict(type='DCGANN')\n", "unknown model type 'DCGANN'. Did you mean 'DCGAN'? Registered models: "),
    ("model = dict(latent_dims=3)\n", "model.latent_dims: model 'DCGAN' has no argument 'latent_dims'. "
                                      "Did you mean 'latent_dim'?"),
    ("model = dict(colour=3)\n", "model 'DCGAN' got unknown argument(s) colour; it accepts: "),
], ids=["unknown type", "misspelled keyword", "unknown keyword"])
def test_component_errors_from_mgx_run_exit_2(invoke, tmp_path, override, expected):
    import logging

    example = REPO_ROOT / "configs" / "example_config.py"
    cfg = tmp_path / "bad_component.py"
    cfg.write_text(f"_base_ = {str(example)!r}\n{override}")
    handlers = list(logging.getLogger("mgx").handlers)
    try:
        result = invoke(["run", "train", str(cfg), "--no-track", "--work-dir", str(tmp_path / "work")])
    finally:  # the run may attach a log-file handler; keep later tests' logging clean
        for handler in set(logging.getLogger("mgx").handlers) - set(handlers):
            logging.getLogger("mgx").removeHandler(handler)
            handler.close()
    assert result.exit_code == 2, result.output
    assert "error: " in result.stderr and expected in result.stderr.split("error: ", 1)[1]
    assert "Traceback" not in result.output
    if "colour" not in override:  # a misspelling or unknown type: refused before anything is created
        assert not (tmp_path / "work").exists()
