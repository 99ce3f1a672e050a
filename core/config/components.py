"""Components inside other components' arguments: ``model.generator``, ``model.pixel_loss``, a
dataset wrapper's ``dataset``, a transform's ``transforms``, a metric's ``feature_extractor``...

Their owner builds them (``build(cfg, kind)``), so a run would meet an unregistered type or an
argument the constructor does not take only then: after the work_dir exists, and one problem
per attempt. ``nested_components`` lists every one of them, so the config check
(``mgx config show --check``, ``prepare_run``) and the pre-flight check them all up front.

What counts: every dict with a string ``type`` at any depth of a component's arguments, except
under a key ending in ``_cfg``/``_config`` (``act_cfg=dict(type='LeakyReLU')``, ``norm_cfg``,
``init_cfg``, ``ema_config``): settings in MMagic's sense that the owner reads itself, checked
only when their type names a registered component. The kind a name is looked up in follows
the key (``pipeline``/``transforms``/``degradations`` → transform, ``dataset`` → dataset,
``sampler``, ``feature_extractor``), else the owner's kind; a name registered under another
kind is accepted too, since the owner decides how to build it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

SETTINGS_SUFFIXES = ("_cfg", "_config")
# MMagic's BaseModule argument: the owner applies it (mgx loads the weights) before building the rest
OWNER_APPLIED_ARGUMENTS = frozenset({"init_cfg"})
KIND_OF_KEY = {"pipeline": "transform", "transforms": "transform", "degradations": "transform",
               "dataset": "dataset", "datasets": "dataset", "sampler": "sampler",
               "feature_extractor": "feature_extractor"}


@dataclass(frozen=True)
class Nested:
    path: str     # where the dict is: 'model.generator', 'val_dataloader.dataset.pipeline[2].transforms[0]'
    kind: str     # the kind its name is registered under (or was looked up in, when it is not)
    config: dict
    factory: Any  # the registered constructor; None when the type is not registered

    @property
    def name(self) -> str:
        return self.config["type"]


def _is_settings(key: Any) -> bool:
    return isinstance(key, str) and key.endswith(SETTINGS_SUFFIXES)


def nested_components(item: dict, path: str, kind: str, registry: Any) -> Iterator[Nested]:
    """Every component dict inside ``item``'s arguments (``item`` itself excluded), depth first."""
    for key, value in item.items():
        if key != "type":
            yield from _within(value, f"{path}.{key}", KIND_OF_KEY.get(key, kind), _is_settings(key), registry)


def _within(value: Any, path: str, kind: str, settings: bool, registry: Any) -> Iterator[Nested]:
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _within(item, f"{path}[{index}]", kind, settings, registry)
        return
    if not isinstance(value, dict):
        return
    name = value.get("type")
    if not isinstance(name, str):  # a plain dict of values: its own keys may hold components
        for key, item in value.items():
            yield from _within(item, f"{path}.{key}", KIND_OF_KEY.get(key, kind), settings or _is_settings(key),
                               registry)
        return
    found = registry.find(name, kind)
    if found is None and settings:
        return  # a settings dict its owner reads (act_cfg=dict(type='ReLU'))
    found_kind, factory = found if found is not None else (kind, None)
    yield Nested(path, found_kind, value, factory)
    yield from nested_components(value, path, found_kind, registry)


__all__ = ["KIND_OF_KEY", "Nested", "OWNER_APPLIED_ARGUMENTS", "SETTINGS_SUFFIXES", "nested_components"]
