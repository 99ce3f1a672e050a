"""``--cfg-options`` overrides: dotted keys, list indices, Python literals, and bad items."""
from __future__ import annotations

import pytest

from mgx.core.config import apply_option, load_config, parse_value
from mgx.core.errors import ConfigError

BASE = """
train_cfg = dict(max_iters=1000, val_interval=100)
model = dict(type='Net', channels=[16, 32])
val_evaluator = dict(metrics=[dict(type='FID', fake_nums=50000), dict(type='IS')])
name = 'run'
"""


@pytest.fixture
def cfg_file(tmp_path):
    path = tmp_path / "cfg.py"
    path.write_text(BASE)
    return path


@pytest.mark.parametrize("text, value", [
    ("1", 1), ("-2.5", -2.5), ("1e-4", 1e-4), ("True", True), ("None", None),
    ("[1,2]", [1, 2]), ("(1, 'a')", (1, "a")), ("{'a': [1]}", {"a": [1]}), ("'quoted'", "quoted"),
    ("plain", "plain"), ("work_dirs/x", "work_dirs/x"), ("", ""), ("1 2", "1 2"),
    ("{[1]: 2}", "{[1]: 2}"),  # not a valid literal (unhashable key): kept as text, no crash
])
def test_values_are_python_literals_or_text(text, value):
    assert parse_value(text) == value and type(parse_value(text)) is type(value)


def test_dotted_keys_list_indices_and_new_keys(cfg_file):
    cfg = load_config(cfg_file, [
        "train_cfg.max_iters=10",
        "model.channels=[8, 8, 8]",
        "val_evaluator.metrics.0.fake_nums=100",
        "val_evaluator.metrics.-1.prefix=IS-50k",
        "new.nested.key=x",
        "name=other",
        "model.type=Net2",
    ])
    assert cfg.train_cfg == {"max_iters": 10, "val_interval": 100}
    assert cfg.model == {"type": "Net2", "channels": [8, 8, 8]}
    assert cfg.val_evaluator.metrics[0] == {"type": "FID", "fake_nums": 100}
    assert cfg.val_evaluator.metrics[1] == {"type": "IS", "prefix": "IS-50k"}
    assert cfg.new.nested.key == "x" and cfg.name == "other"


def test_list_element_replaced_by_index(cfg_file):
    cfg = load_config(cfg_file, ["model.channels.1=64", "val_evaluator.metrics.1=dict(type='KID')"])
    assert cfg.model.channels == [16, 64]
    # dict(...) is how configs spell dicts, so overrides accept it too (values must be literals)
    assert cfg.val_evaluator.metrics[1] == {"type": "KID"}
    cfg = load_config(cfg_file, ["val_evaluator.metrics.1=dict(type=make_kid())"])
    assert cfg.val_evaluator.metrics[1] == "dict(type=make_kid())"
    cfg = load_config(cfg_file, ["val_evaluator.metrics.1={'type': 'KID'}"])
    assert cfg.val_evaluator.metrics[1] == {"type": "KID"}


def test_options_apply_after_base_merging(tmp_path):
    (tmp_path / "base.py").write_text("opt = dict(lr=0.1, momentum=0.9)\n")
    (tmp_path / "child.py").write_text("_base_ = 'base.py'\nopt = dict(lr=0.2)\n")
    assert load_config(tmp_path / "child.py", ["opt.lr=0.3"]).opt == {"lr": 0.3, "momentum": 0.9}


@pytest.mark.parametrize("item, why", [
    ("train_cfg.max_iters", "has no '='"),
    ("=3", "the key '' is empty or has an empty part"),
    ("train_cfg..max_iters=3", "empty part"),
    ("model.channels.5=1", "index 5 is out of range for a list of 2"),
    ("model.channels.x=1", "'x' indexes a list and must be an integer"),
    ("val_evaluator.metrics.9.prefix=a", "index 9 is out of range"),
    ("name.sub=1", "name is a str, not a dict or list"),
    ("name.sub.deeper=1", "name is a str, it has no key 'sub'"),
    ("_private=1", "top-level key '_private'"),
    ("class=1", "top-level key 'class'"),
])
def test_bad_items_name_the_item_and_why(cfg_file, item, why):
    with pytest.raises(ConfigError) as info:
        load_config(cfg_file, [item])
    message = str(info.value)
    assert message.startswith(f"--cfg-options item {item!r}")
    assert why in message


def test_apply_option_in_place():
    data = {"a": [{"b": 1}]}
    apply_option(data, "a.0.b=[1, 2]")
    apply_option(data, "c=x=y")  # only the first '=' separates key and value
    assert data == {"a": [{"b": [1, 2]}], "c": "x=y"}
