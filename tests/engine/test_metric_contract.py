"""The metric contract, checked when a metric is built: what is missing is named (in-process, fast).

The metrics are written as a plugin author would from docs/plugins.md; the docs' examples
themselves must keep the contract."""
from __future__ import annotations

import pytest

import mgx.core.registry as registry_module
from mgx.core.errors import ConfigError
from mgx.core.evaluation import BaseMetric, Evaluator, GenerativeMetric, metric_contract_problems
from mgx.core.run.preflight import check_component_types, component_types
from mgx.core.registry import Registry
from test_preflight import docs_example


def _docs_class(name: str) -> type:
    namespace: dict = {}
    exec(compile(docs_example(name), f"docs/plugins.md:{name}", "exec"), namespace)
    return namespace[name]


@pytest.mark.parametrize("name, kwargs", [("MeanAbsError", {}), ("MeanBrightness", {"fake_nums": 8})])
def test_the_docs_examples_keep_the_contract(name: str, kwargs: dict) -> None:
    metric = _docs_class(name)(**kwargs)
    assert metric_contract_problems(metric) == []
    assert metric.result_keys()


class FakesWithoutGenerativeBase(BaseMetric):
    needs_fakes = True

    def process_fake(self, images, indices):
        pass

    def compute(self):
        return {}


class RealsWithoutKey(BaseMetric):
    needs_reals = True

    def process_real(self, images, indices):
        pass

    def compute(self):
        return {}


class ForgotSuper(GenerativeMetric):
    def __init__(self, fake_nums=10):
        self.fake_nums, self.sample_model = fake_nums, "ema"

    def process_fake(self, images, indices):
        pass

    def compute(self):
        return {}


class DeclaresNothing(BaseMetric):
    pass


class PathWithoutMethod(GenerativeMetric):
    uses_val_step = True

    def compute(self):
        return {}


def test_fakes_need_fake_nums_and_sample_model() -> None:
    problems = metric_contract_problems(FakesWithoutGenerativeBase())
    assert len(problems) == 2
    assert "no positive integer 'fake_nums' (got None)" in problems[0]
    assert "'sample_model' is None, not 'ema' or 'orig'" in problems[1]
    assert all("derive from mgx.core.evaluation.GenerativeMetric" in p for p in problems)


def test_reals_need_real_key() -> None:
    [problem] = metric_contract_problems(RealsWithoutKey())
    assert "needs_reals = True but has no 'real_key'" in problem


def test_an_init_without_super_is_named() -> None:
    [problem] = metric_contract_problems(ForgotSuper())
    assert "ForgotSuper has no 'prefix' attribute: its __init__ must call super().__init__(prefix=prefix)" == problem


def test_no_path_and_no_values() -> None:
    problems = metric_contract_problems(DeclaresNothing())
    assert any("declares no data path" in p for p in problems)
    assert any("overrides neither compute() nor evaluate(ctx)" in p for p in problems)


def test_a_declared_path_needs_its_method() -> None:
    problems = metric_contract_problems(PathWithoutMethod(fake_nums=4))
    assert problems == ["PathWithoutMethod sets uses_val_step = True but does not override process()",
                        "PathWithoutMethod sets needs_fakes = True but does not override process_fake()"]


def test_not_a_metric() -> None:
    assert metric_contract_problems(object()) == ["object does not derive from mgx.core.evaluation.BaseMetric"]


@pytest.fixture
def registry():
    saved = registry_module._activate_callback, registry_module._active
    registry = Registry()
    for metric in (FakesWithoutGenerativeBase, RealsWithoutKey, _docs_class("MeanBrightness")):
        registry.add("metric", metric, "test")
    registry_module.set_registry_source(lambda: registry)
    yield registry
    registry_module._activate_callback, registry_module._active = saved


def test_the_evaluator_reports_every_metric_at_once(registry) -> None:
    cfgs = [dict(type="FakesWithoutGenerativeBase"), dict(type="MeanBrightness", fake_nums=4, sample_modle="ema"),
            dict(type="RealsWithoutKey"), dict(type="MeanBrightness", fake_nums=4)]
    with pytest.raises(ConfigError) as caught:
        Evaluator(cfgs, field="val_evaluator")
    lines = str(caught.value).splitlines()
    assert len(lines) == 4, lines
    assert lines[0].startswith("val_evaluator.metrics[0]: FakesWithoutGenerativeBase sets needs_fakes")
    assert lines[2].startswith("val_evaluator.metrics[1]: metric 'MeanBrightness' got unknown argument(s) sample_modle")
    assert lines[3].startswith("val_evaluator.metrics[2]: RealsWithoutKey sets needs_reals")

    deferred = Evaluator(cfgs, field="val_evaluator", defer_problems=True)
    assert deferred.problems == lines
    assert [label for label, _ in deferred.labelled_metrics()] == ["val_evaluator.metrics[3] (MeanBrightness)"]
    with pytest.raises(ConfigError):  # a deferred problem still stops an evaluation
        deferred.evaluate(None, None, None, lambda batch: batch)


def test_unknown_types_are_all_listed_with_their_paths(registry) -> None:
    cfg = dict(model=dict(type="TinyVAE"),
               train_dataloader=dict(dataset=dict(type="Faces", pipeline=[dict(type="Blur")]), sampler=dict(type="S")),
               val_evaluator=dict(metrics=[dict(type="MeanBrightness", feature_extractor=dict(type="Net"))]),
               test_evaluator=dict(metrics=[dict(type="OnlyInTest")]),
               custom_hooks=[dict(type="Printer")], train_cfg=dict(type="MyLoop"))
    assert [path for path, _, _ in component_types(cfg, "train")] == [
        "model.type", "train_dataloader.dataset.type", "train_dataloader.dataset.pipeline[0].type",
        "train_dataloader.sampler.type", "val_evaluator.metrics[0].type",
        "val_evaluator.metrics[0].feature_extractor.type", "custom_hooks[0].type", "train_cfg.type"]
    assert "test_evaluator.metrics[0].type" in [path for path, _, _ in component_types(cfg, "test")]
    with pytest.raises(ConfigError) as caught:
        check_component_types(cfg, "train")
    message = str(caught.value)
    assert "uses 7 component types that no loaded plugin registers" in message
    assert "model.type: unknown model type 'TinyVAE'. Registered models: (none registered)" in message
    assert "OnlyInTest" not in message and "MeanBrightness'" not in message
    assert message.endswith("`mgx plugins` lists what is installed.")


def test_one_unknown_type_keeps_the_short_form_and_the_plugin_hint(registry) -> None:
    with pytest.raises(ConfigError) as caught:
        check_component_types(dict(model=dict(type="TinyVAE")), "test")
    assert str(caught.value) == ("unknown model type 'TinyVAE'. Registered models: (none registered) "
                                 "(model.type in the config).\nIf a plugin provides it, that plugin may not be "
                                 "installed or may have failed to load: `mgx plugins` lists what is installed.")
