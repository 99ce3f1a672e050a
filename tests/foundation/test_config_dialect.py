"""mmengine 0.10's config dialect: ``_base_`` as a namespace, ``{{...}}`` variables, the lazy form."""
from __future__ import annotations

from pathlib import Path

import pytest

from foundation_helpers import run_mgx
from mgx.core.config import load_config
from mgx.core.errors import ConfigError

MMAGIC_CONFIGS = Path(__file__).resolve().parents[1] / "mmagic" / "configs"

BASE = """
model = dict(type='Net', generator=dict(type='G', channels=8), discriminator=dict(type='D'))
train_pipeline = [dict(type='LoadImageFromFile', key='gt'), dict(type='PackInputs')]
train_dataloader = dict(batch_size=4, dataset=dict(type='BasicImageDataset', pipeline=train_pipeline))
scales = [2, 4]
"""


def _write(folder: Path, **files: str) -> None:
    for name, text in files.items():
        (folder / name).write_text(text)


def test_base_is_a_namespace_with_attribute_and_item_access(tmp_path):
    _write(tmp_path, **{"base.py": BASE, "child.py": """
_base_ = './base.py'
generator = _base_.model.generator
channels = _base_['model']['generator']['channels'] * 2
first_scale = _base_.scales[0]
train_dataloader = _base_.train_dataloader
train_dataloader.batch_size = 16
"""})
    cfg = load_config(tmp_path / "child.py")
    assert cfg.generator == {"type": "G", "channels": 8}
    assert cfg.channels == 16 and cfg.first_scale == 2
    assert cfg.train_dataloader.batch_size == 16
    assert cfg.train_dataloader.dataset.pipeline[0] == {"type": "LoadImageFromFile", "key": "gt"}
    assert "_base_" not in cfg


def test_assignment_through_base_is_kept_as_in_mmengine(tmp_path):
    _write(tmp_path, **{"base.py": BASE, "child.py": """
_base_ = ['./base.py']
_base_.train_dataloader.dataset.pipeline = [dict(type='PackInputs')]
pipeline = _base_.train_dataloader.dataset.pipeline
"""})
    cfg = load_config(tmp_path / "child.py")
    assert cfg.train_dataloader.dataset.pipeline == [{"type": "PackInputs"}]
    assert cfg.pipeline == [{"type": "PackInputs"}]


def test_double_brace_base_references_quoted_and_bare(tmp_path):
    _write(tmp_path, **{"base.py": BASE, "child.py": """
_base_ = './base.py'
pipeline = {{_base_.train_pipeline}}
quoted = '{{ _base_.model.generator.channels }}'
second_scale = {{_base_.scales.1}}
"""})
    cfg = load_config(tmp_path / "child.py")
    assert cfg.pipeline == [{"type": "LoadImageFromFile", "key": "gt"}, {"type": "PackInputs"}]
    assert cfg.quoted == 8 and cfg.second_scale == 4


def test_a_missing_base_reference_names_what_the_bases_have(tmp_path):
    _write(tmp_path, **{"base.py": BASE, "child.py": "_base_ = './base.py'\nx = {{_base_.model.encoder}}\n"})
    with pytest.raises(ConfigError, match=r"\{\{_base_.model.encoder\}\}: _base_.model has no 'encoder'"):
        load_config(tmp_path / "child.py")
    _write(tmp_path, **{"attr.py": "_base_ = './base.py'\nx = _base_.optim_wrapper\n"})
    with pytest.raises(ConfigError, match="attr.py, line 2: AttributeError.*the bases define: model, scales"):
        load_config(tmp_path / "attr.py")


def test_predefined_file_variables(tmp_path):
    folder = tmp_path / "my configs"
    folder.mkdir()
    _write(folder, **{"srgan_x4.py": """
work_dir = './work_dirs/{{fileBasenameNoExtension}}'
names = ['{{ fileBasename }}', '{{fileExtname}}', '{{fileDirname}}']
"""})
    cfg = load_config(folder / "srgan_x4.py")
    assert cfg.work_dir == "./work_dirs/srgan_x4"
    assert cfg.names == ["srgan_x4.py", ".py", str(folder.resolve()).replace("\\", "/")]


def test_a_base_file_sees_its_own_name(tmp_path):
    _write(tmp_path, **{"runtime.py": "work_dir = 'work_dirs/{{fileBasenameNoExtension}}'\n",
                        "exp.py": "_base_ = './runtime.py'\n"})
    assert load_config(tmp_path / "exp.py").work_dir == "work_dirs/runtime"  # as mmengine does


def test_environment_variables_with_defaults(tmp_path, monkeypatch):
    _write(tmp_path, **{"env.py": "data_root = '{{$MGX_TEST_DATA:data/default}}'\nother = '{{$MGX_TEST_SET}}'\n"})
    monkeypatch.delenv("MGX_TEST_DATA", raising=False)
    monkeypatch.setenv("MGX_TEST_SET", "set")
    cfg = load_config(tmp_path / "env.py")
    assert cfg.data_root == "data/default" and cfg.other == "set"
    monkeypatch.setenv("MGX_TEST_DATA", "/data/x")
    assert load_config(tmp_path / "env.py").data_root == "/data/x"
    monkeypatch.delenv("MGX_TEST_SET")
    with pytest.raises(ConfigError, match="environment variable MGX_TEST_SET is not set"):
        load_config(tmp_path / "env.py")


LAZY = """
from mmengine.config import read_base

with read_base():
    from .._base_.default_runtime import *

model = dict(type=None)
"""


def test_lazy_import_configs_get_one_clear_message(tmp_path):
    _write(tmp_path, **{"lazy.py": LAZY})
    with pytest.raises(ConfigError, match=r"lazy.py, line 2: this is an mmengine lazy-import config"):
        load_config(tmp_path / "lazy.py")
    result = run_mgx("config", "show", str(tmp_path / "lazy.py"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "mmengine's lazy import system, which mgx does not support" in result.stderr


def test_package_scoped_bases_are_named(tmp_path):
    _write(tmp_path, **{"scoped.py": "_base_ = ['mmdet::_base_/default_runtime.py']\n"})
    with pytest.raises(ConfigError, match="'mmdet::_base_/default_runtime.py' is a package-scoped base"):
        load_config(tmp_path / "scoped.py")


def test_default_scope_is_accepted(tmp_path):
    _write(tmp_path, **{"scope.py": "default_scope = 'mmagic'\nmodel = dict(type='DCGAN')\n"})
    result = run_mgx("config", "show", str(tmp_path / "scope.py"))
    assert result.returncode == 0 and "default_scope" not in result.stderr, result.stderr


@pytest.mark.parametrize("name", ["restormer/restormer_official_dfwb-color-sigma15.py",
                                  "pix2pix/pix2pix_vanilla-unet-bn_wo-jitter-flip-1xb4-190kiters_edges2shoes.py"])
def test_mmagic_configs_using_base_as_a_namespace(name):
    cfg = load_config(MMAGIC_CONFIGS / name)
    if name.startswith("restormer"):
        # test_dataloader = _base_.test_dataloader (a list of loaders), then each pipeline is edited in place
        assert isinstance(cfg.test_dataloader, list) and len(cfg.test_dataloader) >= 2
        for loader in cfg.test_dataloader:
            assert loader.dataset.pipeline[2]["params"]["gaussian_sigma"] == [15 * 255, 15 * 255]
    else:
        # `_base_.train_dataloader.dataset.pipeline = [...]` replaces the base's pipeline
        assert cfg.train_dataloader.dataset.pipeline == cfg.train_pipeline
        assert [step["type"] for step in cfg.train_pipeline][-1] == "PackInputs"
        assert not any(step["type"] == "Flip" for step in cfg.train_pipeline)
