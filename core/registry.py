"""Named components by kind, and ``build(cfg, kind)`` that turns config dicts into objects.

The registry is filled by the registration hooks of every loaded plugin (see
``mgx.core.plugins``); the active one is what ``build`` consults, so a plugin
component that owns nested component dicts builds them with the same call.
"""
from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from mgx.core.errors import ConfigError, PluginError


MISSING_PLUGIN_HINT = ("If a plugin provides it, that plugin may not be installed or may have failed to load: "
                       "`mgx plugins` lists what is installed.")


@dataclass(frozen=True)
class Entry:
    name: str
    component: Any
    provider: str  # "plugin (distribution version)" of whoever registered it
    alias_of: str | None = None


class Registry:
    """Components of every kind, each under a unique name (aliases included)."""

    def __init__(self) -> None:
        self._kinds: dict[str, dict[str, Entry]] = {}

    def add(self, kind: str, component: Any, provider: str, name: str | None = None,
            aliases: Iterable[str] = ()) -> None:
        name = name or getattr(component, "__name__", None)
        if not name:
            raise PluginError(f"{provider} registered a {kind} without a name: pass name=...")
        entries = self._kinds.setdefault(kind, {})
        for key, alias_of in [(name, None), *((alias, name) for alias in aliases)]:
            if key in entries:
                raise PluginError(
                    f"{kind} {key!r} is registered twice: by {entries[key].provider} and by {provider}. "
                    f"Uninstall one of them or block it with MGX_DISABLE_PLUGINS.")
            entries[key] = Entry(key, component, provider, alias_of)

    def names(self, kind: str) -> list[str]:
        return sorted(self._kinds.get(kind, {}))

    def entries(self, kind: str) -> list[Entry]:
        return [self._kinds[kind][name] for name in self.names(kind)]

    def kinds(self) -> list[str]:
        return sorted(self._kinds)

    def get(self, kind: str, name: str) -> Any:
        entries = self._kinds.get(kind, {})
        if name in entries:
            return entries[name].component
        raise ConfigError(f"{self.describe_unknown(kind, name)}. {MISSING_PLUGIN_HINT}")

    def find(self, name: str, preferred_kind: str) -> tuple[str, Any] | None:
        """(kind, component) registered as ``name``: of ``preferred_kind`` if there is one, else of any kind.

        For a component nested in another one's arguments, whose kind the owner decides
        (a loss registered as a model, a transform inside a dataset wrapper)."""
        for kind in [preferred_kind, *self.kinds()]:
            if name in self._kinds.get(kind, {}):
                return kind, self._kinds[kind][name].component
        return None

    def describe_unknown(self, kind: str, name: str) -> str:
        """``unknown KIND type 'NAME'. Did you mean …? Registered KINDs: …`` (no trailing period)."""
        known = self.names(kind)
        hint = difflib.get_close_matches(name, known, n=1)
        did_you_mean = f". Did you mean {hint[0]!r}?" if hint else "."
        listing = ", ".join(known) if known else "(none registered)"
        return f"unknown {kind} type {name!r}{did_you_mean} Registered {kind}s: {listing}"

    def __contains__(self, key: tuple[str, str]) -> bool:
        kind, name = key
        return name in self._kinds.get(kind, {})


class Register:
    """The object registration hooks receive: ``register(component, name=None, aliases=())``."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.calls: list[tuple[Any, str | None, tuple[str, ...]]] = []

    def __call__(self, component: Any, name: str | None = None, aliases: Iterable[str] = ()) -> Any:
        self.calls.append((component, name, tuple(aliases)))
        return component


_active: Registry | None = None
_activate_callback: Callable[[], Registry] | None = None


def set_registry_source(source: Callable[[], Registry]) -> None:
    """Tell ``build`` where the registry comes from (called lazily on first use)."""
    global _activate_callback, _active
    _activate_callback, _active = source, None


def get_registry() -> Registry:
    global _active
    if _active is None:
        if _activate_callback is None:
            raise RuntimeError("no mgx plugin manager is active: create one with mgx.core.plugins.PluginManager(...).activate()")
        _active = _activate_callback()
    return _active


def _signature(factory: Any) -> tuple[set[str], set[str], bool]:
    """(accepted keyword names, required names, accepts **kwargs) of a component."""
    try:
        # signature(cls), not signature(cls.__init__): a class without its own __init__
        # then takes no arguments instead of object.__init__'s (*args, **kwargs)
        params = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        return set(), set(), True
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in params)
    named = [p for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    required = {p.name for p in named if p.default is p.empty}
    return {p.name for p in named}, required, accepts_any


def build(cfg: dict, kind: str, **defaults: Any) -> Any:
    """Build ``cfg = dict(type=NAME, **kwargs)`` of ``kind`` through the active registry.

    ``defaults`` are extra keyword arguments the caller supplies (the config's
    own values win). Nested component dicts are passed through unchanged: the
    component that owns them builds them.
    """
    if not isinstance(cfg, dict) or "type" not in cfg:
        raise ConfigError(f"a {kind} config must be a dict with a 'type' key, got {cfg!r}")
    kwargs = {key: value for key, value in cfg.items() if key != "type"}
    type_name = cfg["type"]
    if not isinstance(type_name, str):
        raise ConfigError(f"{kind} 'type' must be a registered name (a string), got {type_name!r}")
    factory = get_registry().get(kind, type_name)
    merged = {**defaults, **kwargs}
    accepted, required, accepts_any = _signature(factory)
    if not accepts_any:
        unknown = sorted(set(kwargs) - accepted)
        if unknown:
            from mgx.core.config.keys import likely_misspelling

            guesses = [f"{key} -> {guess}" for key in unknown if (guess := likely_misspelling(key, accepted))]
            hint = f" (did you mean: {', '.join(guesses)}?)" if guesses else ""
            raise ConfigError(
                f"{kind} {type_name!r} got unknown argument(s) {', '.join(unknown)}{hint}; "
                f"it accepts: {', '.join(sorted(accepted)) or '(no arguments)'}")
        merged = {key: value for key, value in merged.items() if key in accepted}
    from mgx.core.config.keys import raise_type_problems

    raise_type_problems(factory, kwargs, type_name)
    missing = sorted(required - set(merged))
    if missing:
        raise ConfigError(f"{kind} {type_name!r} needs argument(s) {', '.join(missing)}; "
                          f"it accepts: {', '.join(sorted(accepted))}")
    return factory(**merged)


def build_list(cfgs: list[dict] | None, kind: str, **defaults: Any) -> list[Any]:
    if cfgs is None:
        return []
    if not isinstance(cfgs, (list, tuple)):
        raise ConfigError(f"expected a list of {kind} configs, got {type(cfgs).__name__}")
    return [build(item, kind, **defaults) for item in cfgs]
