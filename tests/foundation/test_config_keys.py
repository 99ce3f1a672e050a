"""Every key is used, mapped or reported: misspellings are errors with a did-you-mean (exit 2,
no traceback, nothing created), wrong types name key, value and expected type, the rest is one
"ignored" warning; ``custom_imports`` plugins; ``--cfg-options`` on helper variables."""
from __future__ import annotations

from pathlib import Path

import pytest

from foundation_helpers import run_mgx
from mgx.core.config.check import account_config
from mgx.core.config.keys import edit_distance, likely_misspelling

TRAINABLE = """
model = dict(type='DCGAN', latent_dim=8, image_size=16, channels=3, base_channels=8)
train_dataloader = dict(batch_size=8, dataset=dict(type='DigitsDataset', image_size=16, split='train'),
                        sampler=dict(type='InfiniteSampler', shuffle=True), drop_last=True)
optim_wrapper = dict(constructor='MultiOptimWrapperConstructor',
                     generator=dict(optimizer=dict(type='Adam', lr=1e-3, betas=(0.5, 0.999))),
                     discriminator=dict(optimizer=dict(type='Adam', lr=1e-3, betas=(0.5, 0.999))))
train_cfg = dict(by_epoch=False, max_iters=2)
val_evaluator = dict(type='Evaluator', metrics=[dict(type='SWD', prefix='SWD', fake_nums=16, image_shape=(3, 16, 16))])
default_hooks = dict(logger=dict(type='LoggerHook', interval=1), timer=dict(type='IterTimerHook'),
                     checkpoint=dict(type='CheckpointHook', interval=-1, by_epoch=False))
"""


@pytest.fixture
def trainable(tmp_path: Path) -> Path:
    path = tmp_path / "cfg.py"
    path.write_text(TRAINABLE)
    return path


def _refused(result, *fragments: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, f"{fragment!r} not in {result.stderr!r}"
    return result.stderr


def test_edit_distance_counts_a_swap_as_one_edit():
    assert edit_distance("trian_cfg", "train_cfg") == 1
    assert edit_distance("loger", "logger") == 1
    assert edit_distance("val_pipeline", "val_cfg") > 2
    assert likely_misspelling("max_iter", ["max_iters", "max_epochs"]) == "max_iters"
    assert likely_misspelling("train_pipeline", ["train_cfg", "train_dataloader"]) is None


@pytest.mark.parametrize("option, message", [
    ("trian_cfg=dict(max_iters=2)", "trian_cfg is not a known key. Did you mean 'train_cfg'?"),
    ("default_hooks.loger=dict(interval=1)", "default_hooks.loger is not a known key. Did you mean 'default_hooks.logger'?"),
    ("train_cfg.max_iter=10", "train_cfg.max_iter is not a known key. Did you mean 'train_cfg.max_iters'?"),
    ("train_cfg.val_intreval=10", "Did you mean 'train_cfg.val_interval'?"),
    ("train_dataloader.batch_sise=4", "Did you mean 'train_dataloader.batch_size'?"),
    ("default_hooks.checkpoint.max_keep_ckpt=2", "Did you mean 'default_hooks.checkpoint.max_keep_ckpts'?"),
    ("env_cfg.cudnn_benchmak=True", "Did you mean 'env_cfg.cudnn_benchmark'?"),
])
def test_config_show_refuses_misspelled_engine_keys(trainable, option, message):
    _refused(run_mgx("config", "show", str(trainable), "--cfg-options", option), message)


@pytest.mark.parametrize("option, message", [
    ("optim_wrapper.generator.optimizer.lrr=0.1", "optim_wrapper.generator.optimizer.lrr is not a known key. "
                                                  "Did you mean 'optim_wrapper.generator.optimizer.lr'?"),
    ("optim_wrapper.generator.optimizer.lr='fast'", "optim_wrapper.generator.optimizer.lr='fast': expected a number, got str"),
    ("val_evaluator.metrics.0.fake_num=8", "val_evaluator.metrics[0].fake_num: metric 'SWD' has no argument "
                                           "'fake_num'. Did you mean 'fake_nums'?"),
    ("train_cfg.max_iters='ten'", "train_cfg.max_iters='ten': expected a number"),
])
def test_config_show_check_refuses_component_misspellings_and_types(trainable, option, message):
    _refused(run_mgx("config", "show", "--check", str(trainable), "--cfg-options", option, timeout=120), message)


def test_a_run_with_problems_reports_them_all_and_creates_nothing(trainable, tmp_path):
    work = tmp_path / "work"
    result = run_mgx("run", "train", str(trainable), "--work-dir", str(work), "--tracking-uri",
                     f"sqlite:///{tmp_path / 'mlflow.db'}", "--cfg-options", "train_cfg.max_iter=10",
                     "optim_wrapper.discriminator.optimizer.lr='fast'", "val_evaluator.metrics.0.fake_num=8",
                     cwd=tmp_path, timeout=180)
    message = _refused(result, "3 problems", "Did you mean 'train_cfg.max_iters'?", "lr='fast': expected a number",
                       "Did you mean 'fake_nums'?")
    assert "TypeError" not in message
    assert not work.exists() and not (tmp_path / "mlflow.db").exists() and not (tmp_path / "mlruns").exists()


def test_unused_keys_are_named_once_in_one_warning(trainable):
    text = trainable.read_text() + """
train_pipeline = [dict(type='PackInputs')]
data_root = 'data/x'
launcher = 'none'
visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')], fn_key='gt_path')
default_hooks.update(dict(sampler_seed=dict(type='DistSamplerSeedHook'), param_scheduler=dict(type='ParamSchedulerHook')))
"""
    trainable.write_text(text)
    result = run_mgx("config", "show", str(trainable))
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, result.stderr
    for name in ("train_pipeline", "data_root", "launcher", "visualizer.fn_key"):
        assert warnings[0].count(name) == 1, warnings[0]
    for mapped in ("sampler_seed", "param_scheduler", "default_hooks.timer", "vis_backends"):
        assert mapped not in warnings[0]


def test_account_config_without_a_registry_needs_no_torch_and_keeps_helpers_apart():
    accounting = account_config({"model": {"type": "X"}, "batch_size": 4, "trian_cfg": {}, "dist_params": {}})
    assert accounting.errors == ["trian_cfg is not a known key. Did you mean 'train_cfg'?"]
    assert accounting.ignored == ["batch_size", "dist_params"]


def test_helper_variable_override_warns_and_names_the_keys_to_override(tmp_path):
    cfg = tmp_path / "metrics.py"
    cfg.write_text("metrics = [dict(type='FID', fake_nums=50000)]\n"
                   "val_evaluator = dict(type='Evaluator', metrics=metrics)\n"
                   "test_evaluator = dict(type='Evaluator', metrics=metrics)\n")
    result = run_mgx("config", "show", str(cfg), "--cfg-options", "metrics.0.fake_nums=100")
    assert result.returncode == 0, result.stderr
    assert ("'metrics' is a helper variable; val_evaluator.metrics, test_evaluator.metrics were built from it"
            in result.stderr)
    assert "--cfg-options val_evaluator.metrics.0.fake_nums=... test_evaluator.metrics.0.fake_nums=..." in result.stderr
    assert "fake_nums=50000" in result.stdout  # the evaluators kept their value, as the warning says
    quiet = run_mgx("config", "show", str(cfg), "--cfg-options", "val_evaluator.metrics.0.fake_nums=100")
    assert "is a helper variable" not in quiet.stderr and "fake_nums=100" in quiet.stdout


PLUGIN = '''
from mgx.core.hookspecs import hookimpl
import torch


class ConstantNet(torch.nn.Module):
    def __init__(self, value: float = 1.0):
        super().__init__()
        self.value = value


@hookimpl
def mgx_register_models(register):
    register(ConstantNet)


@hookimpl
def mgx_before_run(run):
    open(run.work_dir / "custom_import_hook_ran", "w").close()
'''


def test_custom_imports_register_plugins_for_the_run(tmp_path, trainable):
    (tmp_path / "my_project_plugin.py").write_text(PLUGIN)
    (tmp_path / "uses.py").write_text(
        "custom_imports = dict(imports=['my_project_plugin'], allow_failed_imports=False)\n"
        "model = dict(type='ConstantNet', value=2.0)\n")
    shown = run_mgx("config", "show", "--check", "uses.py", cwd=tmp_path, timeout=120)
    assert shown.returncode == 0 and "ConstantNet" not in shown.stderr, shown.stderr
    without = run_mgx("config", "show", "--check", "uses.py", "--cfg-options", "custom_imports.imports=[]",
                      cwd=tmp_path, timeout=120)
    # --check refuses what a run refuses (exit 2), naming the key
    assert without.returncode == 2 and "model.type: unknown model type 'ConstantNet'" in without.stderr


def test_custom_imports_missing_module_is_an_error_unless_allowed(tmp_path):
    (tmp_path / "missing.py").write_text("custom_imports = dict(imports=['no_such_module_xyz'])\nmodel = dict(type='DCGAN')\n")
    _refused(run_mgx("config", "show", "missing.py", cwd=tmp_path),
             "custom_imports: module 'no_such_module_xyz' was not found", "allow_failed_imports=True")
    allowed = run_mgx("config", "show", "missing.py", "--cfg-options", "custom_imports.allow_failed_imports=True",
                      cwd=tmp_path)
    assert allowed.returncode == 0, allowed.stderr
    (tmp_path / "broken_module.py").write_text("raise RuntimeError('needs mmengine')\n")
    _refused(run_mgx("config", "show", "missing.py", "--cfg-options", "custom_imports.imports=['broken_module']",
                     cwd=tmp_path), "importing 'broken_module' failed: RuntimeError: needs mmengine")


def test_custom_import_plugins_last_one_run(plugin_modules, restore_registry_source):
    from mgx.core.plugins import PluginManager
    from mgx.core.registry import get_registry
    from mgx.core.run.prepared import prepare_run, release_run
    from mgx.core.config import Config

    plugin_modules(per_run_models="""
        from mgx.core.hookspecs import hookimpl

        class PerRunNet:
            def __init__(self, width: int = 4):
                self.width = width

        @hookimpl
        def mgx_register_models(register):
            register(PerRunNet)
    """)
    manager = PluginManager(["mgx.plugins.models"]).activate()
    cfg = Config({"custom_imports": {"imports": ["per_run_models"]}, "model": {"type": "PerRunNet", "width": 8}},
                 filename="per_run.py")
    assert ("model", "PerRunNet") not in get_registry()
    prepared = prepare_run(cfg, manager)
    assert ("model", "PerRunNet") in get_registry() and "DCGAN" in get_registry().names("model")
    assert "custom_imports:per_run_models" in manager.plugins
    release_run(prepared, manager)
    assert ("model", "PerRunNet") not in get_registry() and "custom_imports:per_run_models" not in manager.plugins
    cfg["model"]["widht"] = 2
    with pytest.raises(Exception, match=r"model.widht: model 'PerRunNet' has no argument 'widht'. Did you mean 'width'\?"):
        prepare_run(cfg, manager)
    assert ("model", "PerRunNet") not in get_registry()  # refused runs leave nothing registered


def test_a_helper_variable_copied_into_used_keys_is_not_reported_as_ignored():
    # the example config's `metrics = [...]` was named "ignored" at every run of the README's command
    metrics = [{"type": "SWD", "fake_nums": 8}]
    accounting = account_config({"model": {"type": "X"}, "metrics": metrics, "unused_list": [{"type": "Y"}],
                                 "val_evaluator": {"type": "Evaluator", "metrics": list(metrics)}})
    assert accounting.ignored == ["unused_list"]
