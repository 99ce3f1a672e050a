"""Third-party plugins for real: distributions pip-installed into this environment,
found through the ``mgx`` entry-point group, listed by ``mgx plugins`` and built by ``type=``."""
from __future__ import annotations

import itertools
import json
import warnings

import pytest

from foundation_helpers import mgx_env, run_mgx
from mgx.core.config import load_config
from mgx.core.errors import ConfigError, PluginError
from mgx.core.plugins import PluginManager
from mgx.core.registry import build, build_list
from mgx.plugins import DEFAULT_PLUGINS

pytestmark = pytest.mark.timeout(300)


def _rows_by_name(stdout: str) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {}
    for row in json.loads(stdout):
        rows.setdefault(row["name"], []).append(row)
    return rows


def _fresh_manager() -> PluginManager:
    """Entry points only (no built-ins), with the load warnings collected."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        manager = PluginManager().load()
    manager.caught_warnings = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    return manager


def test_mgx_plugins_json_lists_installed_plugins_and_failures(installed_fixture_plugins):
    result = run_mgx("plugins", "--json")
    assert result.returncode == 0, result.stderr
    rows = _rows_by_name(result.stdout)

    [fixture] = rows["fixture"]
    assert fixture["distribution"] == "mgx-fixture-plugin"
    assert fixture["version"] == "0.3.1"
    assert fixture["builtin"] is False
    assert fixture["error"] is None
    assert fixture["hooks"] == ["mgx_register_datasets", "mgx_register_metrics", "mgx_register_models",
                                "mgx_register_run_hooks"]
    assert fixture["components"] == {"dataset": ["FixtureLineDataset"], "metric": ["FixtureMAE"],
                                     "model": ["FixtureRegressor"], "run_hook": ["FixtureIterCounter"]}

    [broken] = rows["broken"]
    assert (broken["distribution"], broken["version"]) == ("mgx-broken-plugin", "0.0.7")
    assert "RuntimeError" in broken["error"] and "exploded on import" in broken["error"]

    [misspelled] = rows["misspelled"]
    assert (misspelled["distribution"], misspelled["version"]) == ("mgx-badhook-plugin", "1.2.0")
    assert "mgx_register_modles" in misspelled["error"]

    [wrong_args] = rows["wrongargs"]
    assert wrong_args["distribution"] == "mgx-badhook-plugin"
    assert "mgx_register_datasets" in wrong_args["error"] and "registry" in wrong_args["error"]


def test_mgx_plugins_text_names_broken_plugins_and_exits_zero(installed_fixture_plugins, invoke):
    # in-process (CliRunner) to spare a second torch import; the JSON test above runs the real command
    result = invoke(["plugins"])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    lines = result.stdout.splitlines()
    fixture_at = next(i for i, line in enumerate(lines) if line.startswith("fixture  "))
    assert "[mgx-fixture-plugin 0.3.1]" in lines[fixture_at]
    block = "\n".join(itertools.takewhile(lambda line: line.startswith(" "), lines[fixture_at + 1:]))
    assert "models: FixtureRegressor" in block and "run_hooks: FixtureIterCounter" in block
    broken_at = next(i for i, line in enumerate(lines) if line.startswith("broken  "))
    assert "[mgx-broken-plugin 0.0.7]" in lines[broken_at]
    assert lines[broken_at + 1].strip().startswith("ERROR: RuntimeError: mgx-broken-plugin exploded on import")


def test_disabled_plugins_are_not_loaded_and_listed_with_all(installed_fixture_plugins):
    # built-ins are blocked too: they can be, and it keeps these two runs free of torch's import time
    env = mgx_env(MGX_DISABLE_PLUGINS="broken, fixture," + ",".join(DEFAULT_PLUGINS))
    rows = _rows_by_name(run_mgx("plugins", "--json", env=env).stdout)
    assert "fixture" not in rows and "broken" not in rows
    assert not set(DEFAULT_PLUGINS) & set(rows)
    assert "misspelled" in rows  # only the named ones are blocked

    result = run_mgx("plugins", "--all", "--json", env=env)
    assert result.returncode == 0, result.stderr
    rows = _rows_by_name(result.stdout)
    assert [row["error"] for row in rows["fixture"]] == ["blocked by MGX_DISABLE_PLUGINS"]
    assert [row["error"] for row in rows["broken"]] == ["blocked by MGX_DISABLE_PLUGINS"]


def test_load_failures_warn_naming_entry_point_distribution_and_version(installed_fixture_plugins):
    manager = _fresh_manager()
    assert "fixture" in manager.plugins
    failures = {failure.name: failure for failure in manager.load_errors}
    assert set(failures) == {"broken", "misspelled", "wrongargs"}
    assert any("'broken'" in text and "mgx-broken-plugin 0.0.7" in text for text in manager.caught_warnings)
    assert any("'wrongargs'" in text and "mgx-badhook-plugin 1.2.0" in text for text in manager.caught_warnings)
    # failed plugins contribute nothing, not even their valid-looking hooks
    registry = manager.registry
    assert ("model", "BadhookModel") not in registry and ("dataset", "WrongArgsDataset") not in registry


def test_components_build_by_type_from_a_config_file(installed_fixture_plugins, tmp_path, restore_registry_source):
    import torch

    from mgx.core.evaluation import BaseMetric
    from mgx.core.engine.optim import build_optim_wrappers

    cfg_file = tmp_path / "fixture_cfg.py"
    cfg_file.write_text(
        "model = dict(type='FixtureRegressor', init_bias=0.5)\n"
        "train_dataloader = dict(dataset=dict(type='FixtureLine', length=16))\n"
        "val_evaluator = dict(metrics=[dict(type='FixtureMAE', prefix='line')])\n"
        "custom_hooks = [dict(type='FixtureIterCounter', every=2)]\n"
        "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.3))\n")
    cfg = load_config(cfg_file)
    _fresh_manager().activate()

    model = build(cfg.model, "model")
    assert type(model).__name__ == "FixtureRegressor" and isinstance(model, torch.nn.Module)
    assert float(model.linear.bias.detach()) == 0.5
    dataset = build(cfg.train_dataloader.dataset, "dataset")
    assert len(dataset) == 16 and set(dataset[3]) == {"x", "y"}

    optim = build_optim_wrappers(cfg.optim_wrapper, model, device=torch.device("cpu"), amp=False)
    batch = {"x": dataset.x, "y": dataset.y}
    losses = [float(model.train_step(batch, optim)["loss"]) for _ in range(30)]
    assert losses[-1] < 0.1 * losses[0]

    [metric] = build_list(cfg.val_evaluator.metrics, "metric")
    assert isinstance(metric, BaseMetric) and metric.prefix == "line"
    metric.setup(None)
    metric.process(batch, {"pred": batch["y"] + 0.25})
    assert metric.compute() == pytest.approx({"mae": 0.25})


def test_run_hook_from_config_receives_lifecycle_hooks_for_one_run_only(installed_fixture_plugins, tmp_path,
                                                                        restore_registry_source):
    manager = _fresh_manager().activate()
    [hook] = build_list([dict(type="FixtureIterCounter", every=2)], "run_hook")
    manager.register_run_hook(hook, name="run-1/FixtureIterCounter")
    for iteration in range(5):
        manager.hook.mgx_after_train_iter(run=None, iteration=iteration, batch={}, outputs={"loss": 1.0 / (iteration + 1)})
    manager.hook.mgx_after_run(run=None, status="FINISHED")
    assert (hook.iterations, hook.last_outputs, hook.status) == (3, {"loss": 0.2}, "FINISHED")

    manager.unregister(hook)  # the run is over
    manager.hook.mgx_after_train_iter(run=None, iteration=6, batch={}, outputs={"loss": 0.0})
    manager.hook.mgx_after_run(run=None, status="FAILED")
    assert (hook.iterations, hook.status) == (3, "FINISHED")


def test_unknown_type_suggests_the_plugin_component(installed_fixture_plugins, restore_registry_source):
    _fresh_manager().activate()
    with pytest.raises(ConfigError) as info:
        build(dict(type="FixtureRegresor"), "model")
    assert "Did you mean 'FixtureRegressor'?" in str(info.value)
    with pytest.raises(ConfigError) as info:
        build(dict(type="FixtureRegressor", in_feature=3), "model")
    assert "in_feature" in str(info.value) and "in_features, init_bias" in str(info.value)


def test_name_registered_twice_names_both_providers(installed_fixture_plugins, plugin_modules):
    plugin_modules(clash_plugin="""
        from mgx.core.hookspecs import hookimpl

        class FixtureRegressor:
            pass

        @hookimpl
        def mgx_register_models(register):
            register(FixtureRegressor)
        """)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the broken fixture plugins
        manager = PluginManager(["clash_plugin"])
        with pytest.raises(PluginError) as info:
            manager.registry
    message = str(info.value)
    assert "'FixtureRegressor'" in message
    assert "clash_plugin (mgx " in message and "fixture (mgx-fixture-plugin 0.3.1)" in message


def test_cli_runner_sees_installed_plugins_after_cache_clear(installed_fixture_plugins, invoke):
    result = invoke(["plugins", "--json"])
    assert result.exit_code == 0, result.output
    rows = _rows_by_name(result.stdout)
    assert rows["fixture"][0]["version"] == "0.3.1"
    assert "exploded on import" in rows["broken"][0]["error"]
    blocked = invoke(["plugins", "--json"], env={"MGX_DISABLE_PLUGINS": "fixture"})
    assert "fixture" not in _rows_by_name(blocked.stdout)
