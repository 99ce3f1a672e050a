"""PluginManager: lazy, idempotent loading; blocking; broken plugins become warnings;
duplicate names; per-run hooks. Plugins here are real modules written to a temp folder."""
from __future__ import annotations

import sys
import warnings

import pytest

from mgx.core.errors import PluginError
from mgx.core.hookspecs import hookimpl
from mgx.core.plugins import LoadError, PluginManager

COUNTING_PLUGIN = """
    from mgx.core.hookspecs import hookimpl

    CALLS = []

    class Widget:
        def __init__(self, size=1):
            self.size = size

    @hookimpl
    def mgx_register_models(register):
        CALLS.append("models")
        register(Widget, aliases=("Gadget",))

    @hookimpl
    def mgx_after_run(run, status):
        CALLS.append(("after_run", status))
    """

SECOND_PLUGIN = """
    from mgx.core.hookspecs import hookimpl

    class Sprocket:
        pass

    @hookimpl
    def mgx_register_datasets(register):
        register(Sprocket, name="sprocket")
    """


def _manager(*modules: str) -> PluginManager:
    # entry_point_group: an unused group, so pip-installed plugins of this environment stay out
    return PluginManager(modules, entry_point_group="mgx-foundation-tests-none")


def _load_quietly(manager: PluginManager) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        manager.load()
        manager.registry
    return [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]


def test_loading_is_lazy_and_idempotent(plugin_modules):
    plugin_modules(counting_plugin=COUNTING_PLUGIN)
    manager = _manager("counting_plugin")
    assert "counting_plugin" not in sys.modules  # creating the manager imports nothing
    assert manager.registry.names("model") == ["Gadget", "Widget"]
    module = sys.modules["counting_plugin"]
    manager.load()
    manager.registry
    manager.load()
    assert module.CALLS == ["models"]  # registration ran once
    assert list(manager.plugins) == ["counting_plugin"] and manager.load_errors == []
    info = manager.plugins["counting_plugin"]
    assert info.hooks == ["mgx_after_run", "mgx_register_models"]
    assert info.components == {"model": ["Widget"]}
    assert info.builtin is True and info.distribution == "mgx"


def test_hook_attribute_loads_plugins_too(plugin_modules):
    plugin_modules(counting_plugin=COUNTING_PLUGIN)
    manager = _manager("counting_plugin")
    manager.hook.mgx_after_run(run=None, status="FINISHED")
    assert sys.modules["counting_plugin"].CALLS == [("after_run", "FINISHED")]


def test_disable_env_blocks_named_plugins(plugin_modules, monkeypatch):
    plugin_modules(counting_plugin=COUNTING_PLUGIN, second_plugin=SECOND_PLUGIN)
    monkeypatch.setenv("MGX_DISABLE_PLUGINS", " counting_plugin ,unrelated")
    manager = _manager("counting_plugin", "second_plugin")
    assert manager.registry.names("dataset") == ["sprocket"]
    assert manager.registry.names("model") == []
    assert "counting_plugin" not in sys.modules and list(manager.plugins) == ["second_plugin"]


def test_import_failure_is_a_warning_and_others_keep_working(plugin_modules):
    plugin_modules(exploding_plugin="raise ImportError('needs libfoo')\n", second_plugin=SECOND_PLUGIN)
    manager = _manager("exploding_plugin", "second_plugin")
    caught = _load_quietly(manager)
    assert manager.registry.names("dataset") == ["sprocket"]
    [failure] = manager.load_errors
    assert isinstance(failure, LoadError) and failure.name == "exploding_plugin"
    assert "ImportError: needs libfoo" in failure.error
    assert caught == [str(failure)] and "'exploding_plugin' from mgx" in caught[0]


def test_missing_module_is_a_load_error(plugin_modules):
    manager = _manager("no_such_plugin_module_xyz")
    _load_quietly(manager)
    [failure] = manager.load_errors
    assert "No module named 'no_such_plugin_module_xyz'" in failure.error


def test_hookimpls_that_do_not_match_the_specs_are_rejected(plugin_modules):
    plugin_modules(
        misspelled_plugin="""
            from mgx.core.hookspecs import hookimpl

            @hookimpl
            def mgx_register_model(register):
                pass

            @hookimpl
            def mgx_after_run(run, status):
                raise AssertionError("a rejected plugin must not receive hooks")
            """,
        wrong_args_plugin="""
            from mgx.core.hookspecs import hookimpl

            @hookimpl
            def mgx_after_train_iter(run, iteration, batch, output):
                pass
            """,
        second_plugin=SECOND_PLUGIN)
    manager = _manager("misspelled_plugin", "wrong_args_plugin", "second_plugin")
    caught = _load_quietly(manager)
    errors = {failure.name: failure.error for failure in manager.load_errors}
    assert set(errors) == {"misspelled_plugin", "wrong_args_plugin"}
    assert "unknown hook(s) mgx_register_model" in errors["misspelled_plugin"]
    assert "mgx_after_train_iter" in errors["wrong_args_plugin"] and "output" in errors["wrong_args_plugin"]
    assert len(caught) == 2
    assert list(manager.plugins) == ["second_plugin"]
    manager.hook.mgx_after_run(run=None, status="FINISHED")  # the rejected plugin's valid hook is gone


def test_registration_hook_that_raises_is_a_load_error(plugin_modules):
    plugin_modules(raising_plugin="""
        from mgx.core.hookspecs import hookimpl

        @hookimpl
        def mgx_register_metrics(register):
            raise KeyError("oops")
        """, second_plugin=SECOND_PLUGIN)
    manager = _manager("raising_plugin", "second_plugin")
    _load_quietly(manager)
    [failure] = manager.load_errors
    assert failure.name == "raising_plugin" and "mgx_register_metrics raised KeyError" in failure.error
    assert manager.registry.names("dataset") == ["sprocket"]


def test_specname_hookimpls_count_as_their_hook(plugin_modules):
    plugin_modules(specname_plugin="""
        from mgx.core.hookspecs import hookimpl

        class Thing:
            pass

        @hookimpl(specname="mgx_register_loops")
        def add_my_loops(register):
            register(Thing)
        """)
    manager = _manager("specname_plugin")
    assert _load_quietly(manager) == []
    assert manager.registry.names("loop") == ["Thing"]
    assert manager.plugins["specname_plugin"].hooks == ["mgx_register_loops"]


@pytest.mark.parametrize("second", ["Widget", "Gadget"], ids=["name", "alias"])
def test_name_registered_twice_is_an_error_naming_both_providers(plugin_modules, second):
    plugin_modules(counting_plugin=COUNTING_PLUGIN, clashing_plugin=f"""
        from mgx.core.hookspecs import hookimpl

        class Other:
            pass

        @hookimpl
        def mgx_register_models(register):
            register(Other, name={second!r})
        """)
    manager = _manager("counting_plugin", "clashing_plugin")
    with pytest.raises(PluginError) as info:
        manager.registry
    message = str(info.value)
    assert f"model {second!r} is registered twice" in message
    assert "counting_plugin (mgx " in message and "clashing_plugin (mgx " in message
    assert "MGX_DISABLE_PLUGINS" in message


def test_same_name_in_different_kinds_is_fine(plugin_modules):
    plugin_modules(two_kinds_plugin="""
        from mgx.core.hookspecs import hookimpl

        class Same:
            pass

        @hookimpl
        def mgx_register_models(register):
            register(Same)

        @hookimpl
        def mgx_register_datasets(register):
            register(Same)
        """)
    manager = _manager("two_kinds_plugin")
    assert manager.registry.names("model") == manager.registry.names("dataset") == ["Same"]


class _RunHook:
    def __init__(self):
        self.seen = []

    @hookimpl
    def mgx_before_run(self, run):
        self.seen.append(("before_run", run))

    @hookimpl
    def mgx_after_val(self, run, metrics):
        self.seen.append(("after_val", dict(metrics)))


def test_run_hooks_are_registered_for_one_run_only(plugin_modules):
    plugin_modules(counting_plugin=COUNTING_PLUGIN)
    manager = _manager("counting_plugin")
    first, second = _RunHook(), _RunHook()
    manager.register_run_hook(first, name="run-a/hook")
    manager.hook.mgx_before_run(run="run-a")
    manager.unregister(first)
    manager.register_run_hook(second, name="run-b/hook")
    manager.hook.mgx_before_run(run="run-b")
    manager.hook.mgx_after_val(run="run-b", metrics={"PSNR/psnr": 30.0})
    manager.unregister(second)
    manager.unregister(second)  # unregistering twice is harmless
    assert first.seen == [("before_run", "run-a")]
    assert second.seen == [("before_run", "run-b"), ("after_val", {"PSNR/psnr": 30.0})]
    assert list(manager.plugins) == ["counting_plugin"]  # run hooks are not plugins


def test_run_hook_that_does_not_match_the_specs_is_refused():
    class Misspelled:
        @hookimpl
        def mgx_after_trian_iter(self, run, iteration, batch, outputs):
            pass

    class WrongArgs:
        @hookimpl
        def mgx_after_run(self, run, result):
            pass

    manager = _manager()
    with pytest.raises(PluginError, match="mgx_after_trian_iter"):
        manager.register_run_hook(Misspelled(), name="misspelled")
    with pytest.raises(PluginError, match=r"(?s)run hook 'wrong'.*result"):
        manager.register_run_hook(WrongArgs(), name="wrong")
    hook = _RunHook()
    manager.register_run_hook(hook, name="once")
    with pytest.raises(PluginError, match="'twice'"):
        manager.register_run_hook(hook, name="twice")
    manager.unregister(hook)
    manager.hook.mgx_after_run(run=None, status="FINISHED")  # nothing half-registered is left


EVERY_KIND_PLUGIN = """
    from mgx.core.hookspecs import hookimpl

    class Component:
        def __init__(self, tag='default'):
            self.tag = tag

    def named(kind):
        return type(f"Every{kind.title().replace('_', '')}", (Component,), {})

    @hookimpl
    def mgx_register_models(register):
        register(named('model'))

    @hookimpl
    def mgx_register_datasets(register):
        register(named('dataset'))

    @hookimpl
    def mgx_register_transforms(register):
        register(named('transform'))

    @hookimpl
    def mgx_register_samplers(register):
        register(named('sampler'))

    @hookimpl
    def mgx_register_metrics(register):
        register(named('metric'))

    @hookimpl
    def mgx_register_feature_extractors(register):
        register(named('feature_extractor'))

    @hookimpl
    def mgx_register_launchers(register):
        register(named('launcher'), name='every-launcher')

    @hookimpl
    def mgx_register_run_hooks(register):
        register(named('run_hook'))

    @hookimpl
    def mgx_register_loops(register):
        register(named('loop'))
    """


def test_every_registration_hook_feeds_its_kind(plugin_modules, restore_registry_source):
    from mgx.core.hookspecs import REGISTRATION_HOOKS
    from mgx.core.registry import build

    plugin_modules(every_kind_plugin=EVERY_KIND_PLUGIN)
    manager = _manager("every_kind_plugin").load().activate()
    assert manager.plugins["every_kind_plugin"].hooks == sorted(REGISTRATION_HOOKS)
    assert sorted(manager.registry.kinds()) == sorted(REGISTRATION_HOOKS.values())
    for kind in REGISTRATION_HOOKS.values():
        name = "every-launcher" if kind == "launcher" else f"Every{kind.title().replace('_', '')}"
        assert manager.registry.names(kind) == [name]
        built = build(dict(type=name, tag=kind), kind)
        assert (type(built).__name__, built.tag) == (name if kind != "launcher" else "EveryLauncher", kind)


class _IterRecorder:
    def __init__(self, calls, label):
        self.calls, self.label = calls, label

    @hookimpl
    def mgx_after_train_iter(self, run, iteration, batch, outputs):
        self.calls.append((self.label, iteration, outputs))


class _FirstRecorder(_IterRecorder):
    @hookimpl(tryfirst=True)
    def mgx_after_train_iter(self, run, iteration, batch, outputs):
        self.calls.append((self.label, iteration, outputs))


class _IterWrapper:
    @hookimpl(wrapper=True)
    def mgx_after_train_iter(self, run, iteration, batch, outputs):
        return (yield)


def test_per_step_caller_calls_the_implementations_as_pluggy_does():
    from mgx.core.plugins import per_step_caller

    manager = PluginManager(()).activate()
    assert per_step_caller(manager.hook.mgx_after_train_iter) is None  # nobody listens: no call at all
    calls = []
    for label, kind in (("a", _IterRecorder), ("b", _FirstRecorder), ("c", _IterRecorder)):
        manager.register_run_hook(kind(calls, label), name=label)
    caller = manager.hook.mgx_after_train_iter
    fast = per_step_caller(caller)
    assert fast is not caller
    fast(run=None, iteration=7, batch={}, outputs={"loss": 1.0})
    direct, calls[:] = list(calls), []
    caller(run=None, iteration=7, batch={}, outputs={"loss": 1.0})
    assert direct == calls == [(label, 7, {"loss": 1.0}) for label in "bca"]  # tryfirst, then last registered first


def test_per_step_caller_leaves_wrappers_and_tracing_to_pluggy():
    from mgx.core.plugins import per_step_caller

    manager = PluginManager(()).activate()
    recorder = _IterRecorder([], "a")
    manager.register_run_hook(recorder, name="recorder")
    manager.register_run_hook(_IterWrapper(), name="wrapper")
    assert per_step_caller(manager.hook.mgx_after_train_iter) is manager.hook.mgx_after_train_iter
    manager.unregister(manager._pm.get_plugin("wrapper"))
    undo = manager._pm.add_hookcall_monitoring(lambda *a: None, lambda *a: None)
    try:
        assert per_step_caller(manager.hook.mgx_after_train_iter) is manager.hook.mgx_after_train_iter
    finally:
        undo()
    assert per_step_caller(manager.hook.mgx_after_train_iter) is not manager.hook.mgx_after_train_iter
