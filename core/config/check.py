"""Walk a resolved config and account for every key (see ``config_keys`` for the rules).

``account_config(cfg, registry, strict)`` returns an :class:`Accounting`. Misspellings, wrong
types and arguments a registered component does not take are errors in both modes, for every
component, nested ones included (``model.generator``: see ``mgx.core.config.components``);
in a run (``strict``) a metric's other arguments are left to the pre-flight, which builds the
metrics and reports them with their other problems. Unregistered types are errors of
``mgx config show --check`` (non-strict with a registry); a run leaves them to
``preflight.check_component_types``, which names them together with these errors.
"""
from __future__ import annotations

import inspect
from typing import Any

from mgx.core.config.components import OWNER_APPLIED_ARGUMENTS, nested_components
from mgx.core.config.evaluators import evaluator_entries
from mgx.core.config.helpers import derived_from
from mgx.core.config.keys import (DEFAULT_HOOK_KEYS, SECTION_KEYS, TOP_LEVEL_KEYS, Accounting, accepted_arguments,
                          check_keys, likely_misspelling, type_problems)

VISUALIZATION_HOOKS = ("VisualizationHook", "BasicVisualizationHook")
LOADERS = ("train_dataloader", "val_dataloader", "test_dataloader")
EVALUATORS = ("val_evaluator", "test_evaluator")


class _Walker:
    def __init__(self, cfg: dict, registry: Any, strict: bool) -> None:
        self.cfg, self.registry, self.strict = cfg, registry, strict
        self.acc = Accounting()
        self.unsupported: list[str] = []

    # -- components ------------------------------------------------------------------

    def component(self, item: Any, kind: str, path: str, skip: tuple[str, ...] = ()) -> None:
        """A ``dict(type=...)`` and every component nested in its arguments: registered? arguments
        taken by the constructor (and of the right type)?"""
        if not isinstance(item, dict) or not isinstance(item.get("type"), str) or self.registry is None:
            return
        name = item["type"]
        if (kind, name) not in self.registry:
            # a run leaves unregistered types to preflight.check_component_types, which names them all
            # together with any plugin that failed to load
            if not self.strict:
                self.acc.errors.append(f"{path}.type: {self.registry.describe_unknown(kind, name)}")
        else:
            # (in a run a metric's other arguments are reported by the pre-flight, which builds the metrics)
            self.arguments(self.registry.get(kind, name), item, kind, path, skip,
                           report_not_taken=not (self.strict and kind == "metric"))
        for nested in nested_components(item, path, kind, self.registry):
            if nested.factory is not None:
                self.arguments(nested.factory, nested.config, nested.kind, nested.path, tuple(OWNER_APPLIED_ARGUMENTS))
            elif not self.strict:
                self.acc.errors.append(f"{nested.path}.type: {self.registry.describe_unknown(nested.kind, nested.name)}")

    def arguments(self, factory: Any, item: dict, kind: str, path: str, skip: tuple[str, ...] = (),
                  report_not_taken: bool = True) -> None:
        name = item["type"]
        accepted, accepts_any = accepted_arguments(factory)
        kwargs = {key: value for key, value in item.items() if key != "type" and key not in skip}
        if not accepts_any:
            not_taken = []
            for key in kwargs:
                if key in accepted:
                    continue
                guess = likely_misspelling(key, accepted)
                if guess is not None:
                    self.acc.errors.append(f"{path}.{key}: {kind} {name!r} has no argument {key!r}. "
                                           f"Did you mean {guess!r}?")
                else:
                    not_taken.append(key)
            if not_taken and report_not_taken:
                self.acc.errors.append(f"{path}: {kind} {name!r} got unknown argument(s) {', '.join(not_taken)}; "
                                       f"it accepts: {', '.join(sorted(accepted)) or '(no arguments)'}")
        self.acc.errors.extend(type_problems(factory, kwargs, path))

    # -- sections ----------------------------------------------------------------------

    def section(self, name: str, path: str | None = None) -> None:
        value = self._get(path or name)
        if isinstance(value, dict):
            known = SECTION_KEYS[name]
            check_keys(value, known, path or name, self.acc, [k for k, how in known.items() if how == "ignored"])

    def _get(self, path: str) -> Any:
        value: Any = self.cfg
        for part in path.split("."):
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value

    def run(self) -> Accounting:
        cfg = self.cfg
        ignored_top = [key for key, spec in TOP_LEVEL_KEYS.items() if spec.handling == "ignored"]
        unknown = check_keys(cfg, TOP_LEVEL_KEYS, "", self.acc, ignored_top)
        # a helper variable (`scale = 2` then `upscale_factor=scale`) was used: its value lives on
        # in the keys built from it, so it is not reported as ignored. The config's own code reading
        # the name says so; a config built in memory has only the values to compare.
        helpers = getattr(cfg, "helper_names", frozenset())  # a plain dict has none
        for key in unknown:
            if key in self.acc.ignored and (key in helpers or derived_from(cfg, key)):
                self.acc.ignored.remove(key)
        self.component(cfg.get("model"), "model", "model")
        for key in ("train_cfg", "val_cfg", "test_cfg"):
            self.loop_cfg(key)
        for name in ("env_cfg", "log_processor", "model_wrapper_cfg", "auto_scale_lr",
                     "randomness", "visualizer"):
            self.section(name)
        self.section("env_cfg.mp_cfg")
        self.section("env_cfg.dist_cfg")
        self.default_hooks()
        for key in LOADERS:
            for index, loader in self._items(key):
                self.loader(loader, index)
        for key in EVALUATORS:
            self.evaluators(key)
        self.optim_wrapper()
        self.schedulers()
        for index, hook in self._items("custom_hooks", always_index=True):
            if isinstance(hook, dict) and hook.get("type") not in VISUALIZATION_HOOKS:
                self.component(hook, "run_hook", index)
        if self.unsupported:
            self.acc.ignore("components mgx does not provide: " + "; ".join(self.unsupported))
        return self.acc

    def _items(self, key: str, always_index: bool = False) -> list[tuple[str, Any]]:
        value = self.cfg.get(key)
        if isinstance(value, (list, tuple)):
            return [(f"{key}[{i}]", item) for i, item in enumerate(value)]
        return [(f"{key}[0]" if always_index else key, value)] if value is not None else []

    def loop_cfg(self, section: str) -> None:
        """``train_cfg``/``val_cfg``/``test_cfg``: the keys the selected loop class takes."""
        from mgx.core.engine.loops import TRAIN_LOOP_KEYS, loop_type

        loop_cfg = self.cfg.get(section)
        if not isinstance(loop_cfg, dict):
            return
        selected = loop_type(loop_cfg, section)
        known = {"type", "by_epoch"} if section == "train_cfg" else {"type"}
        if self.registry is not None and ("loop", selected) in self.registry:
            accepted, accepts_any = accepted_arguments(self.registry.get("loop", selected))
            if accepts_any:
                return
            known |= accepted
            self.acc.errors.extend(type_problems(self.registry.get("loop", selected),
                                                 {k: v for k, v in loop_cfg.items() if k in accepted}, section))
        else:
            known |= set(TRAIN_LOOP_KEYS) if section == "train_cfg" else set(SECTION_KEYS[section])
        for key in check_keys(loop_cfg, sorted(known), section, self.acc):
            if self.strict and likely_misspelling(key, known) is None:
                self.acc.errors.append(f"{section}.{key} is not a loop setting; {selected} accepts: "
                                       f"{', '.join(sorted(known))}")

    def default_hooks(self) -> None:
        hooks = self.cfg.get("default_hooks")
        if not isinstance(hooks, dict):
            return
        check_keys(hooks, DEFAULT_HOOK_KEYS, "default_hooks", self.acc)
        self.section("default_hooks.logger")
        checkpoint = hooks.get("checkpoint")
        if isinstance(checkpoint, dict):
            from mgx.core.engine.checkpoint import CheckpointPolicy

            accepted, _ = accepted_arguments(CheckpointPolicy)
            known = {**{key: "used" for key in accepted}, **SECTION_KEYS["default_hooks.checkpoint"]}
            check_keys(checkpoint, known, "default_hooks.checkpoint", self.acc,
                       [k for k, how in known.items() if how == "ignored"])
            self.acc.errors.extend(type_problems(CheckpointPolicy, {k: v for k, v in checkpoint.items() if k in accepted},
                                                 "default_hooks.checkpoint"))

    def loader(self, loader: Any, path: str) -> None:
        from mgx.core.engine.data import LOADER_KEYS

        if not isinstance(loader, dict):
            return
        check_keys(loader, sorted(LOADER_KEYS), path, self.acc)
        self.component(loader.get("dataset"), "dataset", f"{path}.dataset")  # with its pipeline
        self.component(loader.get("sampler"), "sampler", f"{path}.sampler")

    def evaluators(self, key: str) -> None:
        for entry in evaluator_entries(self.cfg.get(key), key):
            if entry.config is not None:  # dict(type='Evaluator', metrics=[...]): its keys
                check_keys(entry.config, SECTION_KEYS["evaluator"], entry.field, self.acc)
            elif entry.problem:
                self.acc.errors.append(entry.problem)
            for metric_path, metric in zip(entry.metric_paths, entry.metrics):
                self.component(metric, "metric", metric_path)

    def optim_wrapper(self) -> None:
        from mgx.core.engine.optim import WRAPPER_KEYS

        wrapper = self.cfg.get("optim_wrapper")
        if not isinstance(wrapper, dict):
            return
        if "optimizer" in wrapper:
            check_keys(wrapper, WRAPPER_KEYS, "optim_wrapper", self.acc)
            self.optimizer(wrapper.get("optimizer"), "optim_wrapper.optimizer")
            return
        from mgx.core.engine.optim import CONSTRUCTORS

        # a model's own constructor (PGGANOptimWrapperConstructor) has keys of its own, checked by the model
        own_constructor = wrapper.get("constructor", CONSTRUCTORS[0]) not in CONSTRUCTORS
        for name, sub in wrapper.items():
            if name in ("constructor", "type", "paramwise_cfg") or (
                    own_constructor and not (isinstance(sub, dict) and "optimizer" in sub)):
                continue
            if isinstance(sub, dict):
                check_keys(sub, WRAPPER_KEYS, f"optim_wrapper.{name}", self.acc)
                self.optimizer(sub.get("optimizer"), f"optim_wrapper.{name}.optimizer")

    def optimizer(self, optimizer: Any, path: str) -> None:
        # (components, torch's optimizers included, are checked only with a registry: without one
        # `mgx config show` stays free of torch)
        if not isinstance(optimizer, dict) or not isinstance(optimizer.get("type"), str) or self.registry is None:
            return
        import torch

        klass = getattr(torch.optim, optimizer["type"], None)
        if not inspect.isclass(klass):
            if self.strict:
                self.acc.errors.append(f"{path}.type={optimizer['type']!r} is not a torch.optim optimizer")
            else:
                self.unsupported.append(f"optimizer {optimizer['type']!r} ({path})")
            return
        accepted, _ = accepted_arguments(klass)
        kwargs = {k: v for k, v in optimizer.items() if k != "type"}
        known = sorted(accepted - {"params"})
        for key in check_keys(kwargs, known, path, self.acc):
            if self.strict and likely_misspelling(key, known) is None:
                self.acc.errors.append(f"{path}.{key} is not an argument of {optimizer['type']}; it accepts: "
                                       f"{', '.join(known)}")
        self.acc.errors.extend(type_problems(klass, kwargs, path))

    def schedulers(self) -> None:
        from mgx.core.engine.plateau import ReduceLR
        from mgx.core.engine.schedulers import SCHEDULES

        known = {**SCHEDULES, "ReduceLR": ReduceLR}
        value = self.cfg.get("param_scheduler")
        groups = value.values() if isinstance(value, dict) and "type" not in value else [value]
        for items in groups:
            for item in items if isinstance(items, (list, tuple)) else [items]:
                if isinstance(item, dict) and item.get("type") in known:
                    schedule = known[item["type"]]
                    names = set()
                    for klass in schedule.__mro__:
                        if "__init__" in vars(klass):
                            names |= accepted_arguments(klass)[0]
                    kwargs = {k: v for k, v in item.items() if k != "type"}
                    check_keys(kwargs, sorted(names - {"self", "kwargs"}), f"param_scheduler[{item['type']}]", self.acc)
                elif isinstance(item, dict) and item.get("type") is not None and self.registry is not None and not self.strict:
                    import torch

                    if not hasattr(torch.optim.lr_scheduler, str(item["type"])):
                        self.unsupported.append(f"scheduler {item['type']!r} (param_scheduler)")


def account_config(cfg: dict, registry: Any = None, strict: bool = False) -> Accounting:
    return _Walker(cfg, registry, strict).run()
