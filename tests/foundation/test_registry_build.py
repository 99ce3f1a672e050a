"""Registry and ``build(cfg, kind)``: names, aliases, did-you-mean, argument checks."""
from __future__ import annotations

import pytest

from mgx.core.errors import ConfigError, PluginError
from mgx.core.registry import Registry, build, build_list, get_registry, set_registry_source


class Conv:
    def __init__(self, channels, kernel=3, *, stride=1):
        self.args = dict(channels=channels, kernel=kernel, stride=stride)


class Flexible:
    def __init__(self, depth=1, **extra):
        self.depth, self.extra = depth, extra


def make_linear(width: int = 4):
    return ("linear", width)


class NoInit:
    pass


@pytest.fixture
def registry(restore_registry_source):
    registry = Registry()
    registry.add("model", Conv, "tests (mgx-tests 1.0)", aliases=("Convolution",))
    registry.add("model", Flexible, "tests (mgx-tests 1.0)")
    registry.add("model", make_linear, "tests (mgx-tests 1.0)", name="Linear")
    registry.add("model", NoInit, "tests (mgx-tests 1.0)")
    registry.add("metric", Conv, "tests (mgx-tests 1.0)", name="ConvMetric")
    set_registry_source(lambda: registry)
    return registry


def test_build_passes_config_and_defaults(registry):
    conv = build(dict(type="Conv", channels=8, stride=2), "model")
    assert conv.args == dict(channels=8, kernel=3, stride=2)
    # defaults fill gaps, the config wins, and defaults the component does not accept are dropped
    conv = build(dict(type="Convolution", channels=8, kernel=5), "model", kernel=1, device="cpu")
    assert conv.args == dict(channels=8, kernel=5, stride=1)
    assert build(dict(type="Linear", width=7), "model") == ("linear", 7)
    flexible = build(dict(type="Flexible", depth=3, anything=1), "model", device="cpu")
    assert (flexible.depth, flexible.extra) == (3, {"anything": 1, "device": "cpu"})
    assert isinstance(build(dict(type="NoInit"), "model"), NoInit)


def test_build_does_not_modify_the_config(registry):
    cfg = dict(type="Conv", channels=2)
    build(cfg, "model", kernel=1)
    assert cfg == dict(type="Conv", channels=2)


def test_unknown_type_lists_registered_names_with_did_you_mean(registry):
    with pytest.raises(ConfigError) as info:
        build(dict(type="Flexibel"), "model")
    message = str(info.value)
    assert "unknown model type 'Flexibel'" in message
    assert "Did you mean 'Flexible'?" in message
    assert "Registered models: Conv, Convolution, Flexible, Linear, NoInit" in message


def test_unknown_type_without_close_match_and_empty_kind(registry):
    with pytest.raises(ConfigError) as info:
        build(dict(type="Zzzzzz"), "model")
    assert "Did you mean" not in str(info.value)
    with pytest.raises(ConfigError, match=r"unknown loop type 'X'\. Registered loops: \(none registered\)"):
        build(dict(type="X"), "loop")


def test_unknown_keyword_lists_accepted_arguments(registry):
    with pytest.raises(ConfigError) as info:
        build(dict(type="Conv", channels=1, kernal=3, padding=1), "model")
    assert str(info.value) == ("model 'Conv' got unknown argument(s) kernal, padding (did you mean: kernal -> kernel?); "
                               "it accepts: channels, kernel, stride")
    with pytest.raises(ConfigError, match=r"model 'Linear' got unknown argument\(s\) widht \(did you mean: widht -> "
                                          r"width\?\); it accepts: width$"):
        build(dict(type="Linear", widht=1), "model")
    # a class without its own __init__ takes no arguments (not object.__init__'s *args, **kwargs)
    with pytest.raises(ConfigError, match=r"model 'NoInit' got unknown argument\(s\) size; it accepts: \(no arguments\)"):
        build(dict(type="NoInit", size=1), "model")


def test_missing_required_argument_is_named(registry):
    with pytest.raises(ConfigError, match=r"model 'Conv' needs argument\(s\) channels; it accepts: channels, kernel, stride"):
        build(dict(type="Conv"), "model")


@pytest.mark.parametrize("cfg, expected", [
    (dict(channels=1), "must be a dict with a 'type' key"),
    ("Conv", "must be a dict with a 'type' key"),
    (dict(type=Conv), "'type' must be a registered name"),
])
def test_malformed_component_configs(registry, cfg, expected):
    with pytest.raises(ConfigError, match=expected):
        build(cfg, "model")


def test_build_list(registry):
    built = build_list([dict(type="Linear"), dict(type="Linear", width=2)], "model")
    assert built == [("linear", 4), ("linear", 2)]
    assert build_list(None, "model") == []
    with pytest.raises(ConfigError, match="expected a list of metric configs, got dict"):
        build_list(dict(type="ConvMetric"), "metric")


def test_kinds_are_separate_namespaces(registry):
    assert registry.names("metric") == ["ConvMetric"]
    assert ("model", "Conv") in registry and ("metric", "Conv") not in registry
    assert registry.kinds() == ["metric", "model"]
    assert [entry.alias_of for entry in registry.entries("model") if entry.name == "Convolution"] == ["Conv"]


def test_duplicate_names_name_both_providers():
    registry = Registry()
    registry.add("metric", Conv, "first (dist-a 1.0)", name="FID")
    with pytest.raises(PluginError) as info:
        registry.add("metric", Flexible, "second (dist-b 2.0)", aliases=("FID",))
    assert "metric 'FID' is registered twice: by first (dist-a 1.0) and by second (dist-b 2.0)" in str(info.value)


def test_unnamed_component_is_refused():
    with pytest.raises(PluginError, match="without a name"):
        Registry().add("model", object(), "p (d 1)")


def test_get_registry_without_an_active_manager_says_what_to_do(restore_registry_source):
    import mgx.core.registry as registry_module

    registry_module._activate_callback, registry_module._active = None, None
    with pytest.raises(RuntimeError, match="PluginManager"):
        get_registry()
