"""Walk a resolved config and account for every key (see ``config_keys`` for the rules).

``account_config(cfg, registry, strict)`` returns an :class:`Accounting`:
misspellings and wrong types are errors in both modes. Other arguments a
registered component does not take, and unregistered types, are left in a run
to the build and ``preflight`` (which report every problem together); for
``mgx config show --check`` they are listed as "not provided by mgx" so the
config still resolves.
"""
from __future__ import annotations

import inspect
from typing import Any

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
        self.not_taken: dict[str, list[str]] = {}

    # -- components ------------------------------------------------------------------

    def component(self, item: Any, kind: str, path: str, skip: tuple[str, ...] = ()) -> None:
        """A ``dict(type=...)``: its arguments against the registered constructor."""
        if not isinstance(item, dict) or not isinstance(item.get("type"), str) or self.registry is None:
            return
        name = item["type"]
        if (kind, name) not in self.registry:
            # a run leaves unregistered types to preflight.check_component_types, which names them all
            # together with any plugin that failed to load
            if not self.strict:
                self.unsupported.append(f"{kind} {name!r} ({path})")
            return
        factory = self.registry.get(kind, name)
        accepted, accepts_any = accepted_arguments(factory)
        kwargs = {key: value for key, value in item.items() if key != "type" and key not in skip}
        if not accepts_any:
            for key in kwargs:
                if key in accepted:
                    continue
                guess = likely_misspelling(key, accepted)
                if guess is not None:
                    self.acc.errors.append(f"{path}.{key}: {kind} {name!r} has no argument {key!r}. "
                                           f"Did you mean {guess!r}?")
                elif not self.strict:
                    # (in a run the build names it, among everything the pre-flight finds)
                    self.not_taken.setdefault(f"{kind} {name!r} ({path})", []).append(key)
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
            for index, evaluator in self._items(key):
                self.evaluator(evaluator, index)
        self.optim_wrapper()
        self.schedulers()
        for index, hook in self._items("custom_hooks", always_index=True):
            if isinstance(hook, dict) and hook.get("type") not in VISUALIZATION_HOOKS:
                self.component(hook, "run_hook", index)
        if self.unsupported:
            self.acc.ignore("components mgx does not provide: " + "; ".join(self.unsupported))
        if self.not_taken:
            self.acc.ignore("arguments mgx's components do not take (a run stops on them): " + "; ".join(
                f"{where}: {', '.join(keys)}" for where, keys in self.not_taken.items()))
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
        dataset = loader.get("dataset")
        self.component(dataset, "dataset", f"{path}.dataset")
        sampler = loader.get("sampler")
        self.component(sampler, "sampler", f"{path}.sampler")
        if isinstance(dataset, dict):
            for index, transform in enumerate(dataset.get("pipeline") or []):
                self.component(transform, "transform", f"{path}.dataset.pipeline[{index}]")

    def evaluator(self, evaluator: Any, path: str) -> None:
        if not isinstance(evaluator, dict):
            return
        check_keys(evaluator, SECTION_KEYS["evaluator"], path, self.acc)
        metrics = evaluator.get("metrics")
        for index, metric in enumerate(metrics if isinstance(metrics, (list, tuple)) else [metrics] if metrics else []):
            self.component(metric, "metric", f"{path}.metrics[{index}]")

    def optim_wrapper(self) -> None:
        from mgx.core.engine.optim import WRAPPER_KEYS

        wrapper = self.cfg.get("optim_wrapper")
        if not isinstance(wrapper, dict):
            return
        if "optimizer" in wrapper:
            check_keys(wrapper, WRAPPER_KEYS, "optim_wrapper", self.acc)
            self.optimizer(wrapper.get("optimizer"), "optim_wrapper.optimizer")
            return
        for name, sub in wrapper.items():
            if name in ("constructor", "type", "paramwise_cfg"):
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
        from mgx.core.engine.schedulers import SCHEDULES

        value = self.cfg.get("param_scheduler")
        groups = value.values() if isinstance(value, dict) and "type" not in value else [value]
        for items in groups:
            for item in items if isinstance(items, (list, tuple)) else [items]:
                if isinstance(item, dict) and item.get("type") in SCHEDULES:
                    schedule = SCHEDULES[item["type"]]
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
