"""Config files: module-level names, ``_base_`` inheritance, deep merge, ``_delete_``, and errors."""
from __future__ import annotations

import textwrap

import pytest

from mgx.core.config.loader import Config, ConfigDict, load_config, merge
from mgx.core.errors import ConfigError


def write(folder, name: str, source: str):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


def test_module_level_names_are_the_config(tmp_path):
    path = write(tmp_path, "plain.py", """
        import math
        from pathlib import Path

        def helper(x):
            return x * 2

        class Local:
            pass

        _private = 5
        __dunder = 6
        scale = helper(math.floor(2.5))
        work_dir = str(Path('runs') / 'a')
        model = dict(type='Net', channels=[16, 32], opts=dict(lr=1e-3))
        """)
    cfg = load_config(path)
    assert dict(cfg) == {"scale": 4, "work_dir": "runs/a",
                         "model": {"type": "Net", "channels": [16, 32], "opts": {"lr": 1e-3}}}
    assert isinstance(cfg, Config) and cfg.filename == str(path)
    assert isinstance(cfg.model, ConfigDict) and cfg.model.opts.lr == 1e-3
    with pytest.raises(AttributeError, match="config has no key 'nope'"):
        cfg.model.nope


def test_base_as_string_relative_to_the_file_and_deep_merge(tmp_path, monkeypatch):
    write(tmp_path, "bases/runtime.py", """
        model = dict(type='Net', channels=[16, 32], opts=dict(lr=0.1, betas=(0.9, 0.99)))
        seed = 1
        """)
    child = write(tmp_path, "configs/child.py", """
        _base_ = '../bases/runtime.py'
        model = dict(opts=dict(lr=0.2), extra=True)
        seed = 2
        """)
    monkeypatch.chdir(tmp_path / "bases")  # relative to the file, not the working directory
    cfg = load_config(child)
    assert cfg == {"model": {"type": "Net", "channels": [16, 32], "opts": {"lr": 0.2, "betas": (0.9, 0.99)},
                             "extra": True},
                   "seed": 2}
    assert "_base_" not in cfg


def test_base_list_merges_in_order_and_bases_of_bases(tmp_path):
    write(tmp_path, "a.py", "x = dict(a=1, b=1)\nonly_a = 'a'\n")
    write(tmp_path, "b.py", "_base_ = 'a.py'\nx = dict(b=2, c=2)\nonly_b = 'b'\n")
    write(tmp_path, "c.py", "x = dict(c=3)\n")
    top = write(tmp_path, "top.py", "_base_ = ['b.py', 'c.py']\nx = dict(d=4)\n")
    assert load_config(top) == {"x": {"a": 1, "b": 2, "c": 3, "d": 4}, "only_a": "a", "only_b": "b"}


def test_lists_and_scalars_replace_and_dicts_can_replace_scalars(tmp_path):
    write(tmp_path, "base.py", "layers = [1, 2, 3]\nopt = 'sgd'\nsched = dict(step=10)\n")
    child = write(tmp_path, "child.py", "_base_ = 'base.py'\nlayers = [4]\nopt = dict(type='Adam')\nsched = None\n")
    assert load_config(child) == {"layers": [4], "opt": {"type": "Adam"}, "sched": None}


def test_delete_replaces_instead_of_merging(tmp_path):
    write(tmp_path, "base.py", """
        optim = dict(type='SGD', lr=0.1, momentum=0.9, nested=dict(keep=1))
        data = dict(a=1)
        """)
    child = write(tmp_path, "child.py", """
        _base_ = 'base.py'
        optim = dict(_delete_=True, type='Adam', lr=1e-3)
        data = dict(b=dict(_delete_=True, c=1))
        """)
    cfg = load_config(child)
    assert cfg == {"optim": {"type": "Adam", "lr": 1e-3}, "data": {"a": 1, "b": {"c": 1}}}
    assert "_delete_" not in repr(cfg)


def test_merge_leaves_its_inputs_untouched():
    base = {"a": {"b": [1, 2]}, "keep": 1}
    override = {"a": {"_delete_": True, "c": 3}}
    assert merge(base, override) == {"a": {"c": 3}, "keep": 1}
    assert base == {"a": {"b": [1, 2]}, "keep": 1} and override == {"a": {"_delete_": True, "c": 3}}
    merged = merge(base, {})
    merged["a"]["b"].append(3)
    assert base["a"]["b"] == [1, 2]


def test_syntax_error_names_file_line_and_the_line(tmp_path):
    path = write(tmp_path, "broken.py", "a = 1\nmodel = dict(type='Net',, x=1)\nb = 2\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert f"syntax error in config {path}, line 2" in message
    assert "model = dict(type='Net',, x=1)" in message


def test_runtime_error_in_a_config_names_file_and_line(tmp_path):
    path = write(tmp_path, "bad_name.py", "a = 1\nb = undefined_name + 1\n")
    with pytest.raises(ConfigError, match=rf"error while evaluating config {path}, line 2: NameError"):
        load_config(path)


def test_missing_base_names_the_file_that_asked_for_it(tmp_path):
    child = write(tmp_path, "child.py", "_base_ = ['missing_base.py']\n")
    with pytest.raises(ConfigError) as info:
        load_config(child)
    assert str(info.value) == (f"base config {tmp_path / 'missing_base.py'} (listed in _base_ of {child}) "
                               f"does not exist")


def test_missing_config_and_folder(tmp_path):
    with pytest.raises(ConfigError, match="config file .*nope.py does not exist"):
        load_config(tmp_path / "nope.py")
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(tmp_path)


def test_base_cycle_is_shown(tmp_path):
    write(tmp_path, "one.py", "_base_ = 'two.py'\n")
    write(tmp_path, "two.py", "_base_ = ['three.py']\n")
    write(tmp_path, "three.py", "_base_ = 'one.py'\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "one.py")
    one, two, three = (tmp_path / name for name in ("one.py", "two.py", "three.py"))
    assert str(info.value) == f"_base_ files form a cycle: {one} -> {two} -> {three} -> {one}"


def test_self_base_is_a_cycle(tmp_path):
    path = write(tmp_path, "me.py", "_base_ = 'me.py'\n")
    with pytest.raises(ConfigError, match="cycle"):
        load_config(path)


def test_diamond_bases_are_not_a_cycle(tmp_path):
    write(tmp_path, "root.py", "x = dict(root=1)\n")
    write(tmp_path, "left.py", "_base_ = 'root.py'\nx = dict(left=1)\n")
    write(tmp_path, "right.py", "_base_ = 'root.py'\nx = dict(right=1)\n")
    top = write(tmp_path, "top.py", "_base_ = ['left.py', 'right.py']\n")
    assert load_config(top) == {"x": {"root": 1, "left": 1, "right": 1}}


def test_base_must_be_paths(tmp_path):
    path = write(tmp_path, "bad_base.py", "_base_ = 3\n")
    with pytest.raises(ConfigError, match=r"_base_ must be a path or a list of paths, got 3"):
        load_config(path)
