"""Loading plugins: the built-in modules the caller names, then the ``mgx``
entry-point group, each in its own guard.

Loading is lazy (nothing happens until ``load()``, ``registry`` or ``hook`` is
first used) and idempotent. A plugin that fails to import, whose hook
implementations don't match the specs, or whose registration hook raises
becomes a :class:`LoadError` (a warning), and everything else keeps working.
"""
from __future__ import annotations

import importlib
import importlib.metadata as metadata
import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import pluggy

from mgx.core import hookspecs
from mgx.core.errors import PluginError
from mgx.core.registry import Register, Registry, set_registry_source

ENTRY_POINT_GROUP = "mgx"
DISABLE_ENV = "MGX_DISABLE_PLUGINS"
EXTRA_ENV = "MGX_PLUGINS"  # importable module names loaded as plugins without packaging (like pytest -p)


@dataclass
class PluginInfo:
    name: str
    module: str
    distribution: str
    version: str
    builtin: bool
    hooks: list[str] = field(default_factory=list)
    components: dict[str, list[str]] = field(default_factory=dict)

    @property
    def provider(self) -> str:
        return f"{self.name} ({self.distribution} {self.version})"


@dataclass
class LoadError:
    name: str
    distribution: str
    version: str
    error: str

    def __str__(self) -> str:
        return f"plugin {self.name!r} from {self.distribution} {self.version} failed to load: {self.error}"


def _disabled_names() -> set[str]:
    return {name.strip() for name in os.environ.get(DISABLE_ENV, "").split(",") if name.strip()}


def _extra_modules() -> list[str]:
    return [name.strip() for name in os.environ.get(EXTRA_ENV, "").split(",") if name.strip()]


def _own_distribution() -> tuple[str, str]:
    try:
        return "mgx", metadata.version("mgx")
    except metadata.PackageNotFoundError:
        return "mgx", "unknown"


class PluginManager:
    """pluggy's manager for project ``mgx`` plus the component registry it fills."""

    def __init__(self, default_plugins: Sequence[str] = (), entry_point_group: str = ENTRY_POINT_GROUP) -> None:
        self._default_plugins = tuple(default_plugins)
        self._group = entry_point_group
        self._pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        self._loaded = False
        self._registry: Registry | None = None
        self._registry_error: PluginError | None = None
        self._plugins: dict[str, PluginInfo] = {}
        self._load_errors: list[LoadError] = []

    # -- loading ---------------------------------------------------------

    @property
    def plugins(self) -> dict[str, PluginInfo]:
        """Loaded plugins by name (loading them first if needed)."""
        self.load()
        return self._plugins

    @property
    def load_errors(self) -> list[LoadError]:
        """Plugins that failed to load, with the reason (loading first if needed)."""
        self.load()
        return self._load_errors

    def load(self) -> "PluginManager":
        if self._loaded:
            return self
        self._loaded = True
        disabled = _disabled_names()
        dist, version = _own_distribution()
        for module_name in self._default_plugins:
            if module_name in disabled:
                continue
            self._guarded_register(module_name, module_name, dist, version, True,
                                   lambda name=module_name: importlib.import_module(name))
        for module_name in _extra_modules():
            if module_name in disabled:
                continue
            self._guarded_register(module_name, module_name, "MGX_PLUGINS", "-", False,
                                   lambda name=module_name: importlib.import_module(name))
        for entry_point in self._entry_points():
            if entry_point.name in disabled:
                continue
            ep_dist = entry_point.dist.name if entry_point.dist else "unknown"
            ep_version = entry_point.dist.version if entry_point.dist else "unknown"
            self._guarded_register(entry_point.name, entry_point.value, ep_dist, ep_version, False, entry_point.load)
        return self

    def _entry_points(self) -> list[metadata.EntryPoint]:
        seen: set[tuple[str, str]] = set()
        unique = []
        for entry_point in metadata.entry_points(group=self._group):
            key = (entry_point.name, entry_point.value)
            if key not in seen:  # an editable install can list a distribution twice
                seen.add(key)
                unique.append(entry_point)
        return unique

    def _guarded_register(self, name: str, module: str, dist: str, version: str, builtin: bool, loader) -> None:
        if name in self.plugins:
            self._fail(name, dist, version, f"another plugin is already registered under the name {name!r} "
                                            f"(from {self.plugins[name].distribution})")
            return
        try:
            plugin = loader()
            self._pm.register(plugin, name=name)
        except Exception as exc:  # a broken plugin must never take mgx down
            self._fail(name, dist, version, f"{type(exc).__name__}: {exc}")
            return
        unknown = [hook for hook in self._hook_names(plugin) if hook not in self._spec_names()]
        if unknown:
            self._pm.unregister(plugin)
            self._fail(name, dist, version, f"unknown hook(s) {', '.join(unknown)}; see `mgx plugins` docs for the hook names")
            return
        hooks = self._hook_names(plugin)
        self.plugins[name] = PluginInfo(name, module, dist, version, builtin, hooks)

    def _fail(self, name: str, dist: str, version: str, error: str) -> None:
        failure = LoadError(name, dist, version, error)
        self._load_errors.append(failure)
        warnings.warn(str(failure), RuntimeWarning, stacklevel=3)

    def _spec_names(self) -> set[str]:
        return {name for name in dir(hookspecs) if name.startswith("mgx_")}

    def _hook_names(self, plugin: Any) -> list[str]:
        """Names of the hooks ``plugin`` implements (hook names, so ``specname=`` counts;
        hookimpls without a matching spec have unverified callers and are listed too)."""
        return sorted(caller.name for caller in self._pm.get_hookcallers(plugin) or [])

    # -- registry --------------------------------------------------------

    @property
    def registry(self) -> Registry:
        self.load()
        if self._registry is None:
            self._registry = self._collect_registrations()
        if self._registry_error is not None:
            raise self._registry_error
        return self._registry

    def _collect_registrations(self) -> Registry:
        registry = Registry()
        for hook_name, kind in hookspecs.REGISTRATION_HOOKS.items():
            for impl in getattr(self._pm.hook, hook_name).get_hookimpls():
                info = self.plugins.get(self._pm.get_name(impl.plugin) or "")
                if info is None:
                    continue
                register = Register(kind)
                try:
                    impl.function(register=register)
                except Exception as exc:
                    self._fail(info.name, info.distribution, info.version, f"{hook_name} raised {type(exc).__name__}: {exc}")
                    continue
                for component, name, aliases in register.calls:
                    try:
                        registry.add(kind, component, info.provider, name=name, aliases=aliases)
                    except PluginError as exc:
                        self._registry_error = self._registry_error or exc
                        continue
                    info.components.setdefault(kind, []).append(name or component.__name__)
        return registry

    def activate(self) -> "PluginManager":
        """Make this manager's registry the one ``mgx.core.registry.build`` uses."""
        set_registry_source(lambda: self.registry)
        self._activated = True
        return self

    def _recollect(self) -> None:
        """Registrations changed: rebuild the registry on next use (and ``build``'s view of it)."""
        self._registry, self._registry_error = None, None
        if getattr(self, "_activated", False):
            set_registry_source(lambda: self.registry)

    # -- hooks -----------------------------------------------------------

    @property
    def hook(self) -> Any:
        self.load()
        return self._pm.hook

    def register_run_hook(self, obj: Any, name: str) -> None:
        """Register a per-run hook object (from ``custom_hooks``); undo with ``unregister``."""
        self.load()
        try:
            self._pm.register(obj, name=name)
        except pluggy.PluginValidationError as exc:  # wrong argument names for a known hook
            raise PluginError(f"run hook {name!r}: {exc}") from None
        except ValueError as exc:  # name or object already registered
            raise PluginError(f"run hook {name!r} cannot be registered: {exc}") from None
        unknown = [hook for hook in self._hook_names(obj) if hook not in self._spec_names()]
        if unknown:
            self._pm.unregister(obj)
            raise PluginError(f"run hook {name!r} implements unknown hook(s): {', '.join(unknown)}")

    def unregister(self, obj: Any) -> None:
        if self._pm.is_registered(obj):
            self._pm.unregister(obj)

    def register_run_plugin(self, module: Any, name: str) -> None:
        """A config's ``custom_imports`` module with ``@hookimpl`` functions: a plugin for one run
        (its components join the registry). Undo with ``unregister_run_plugin``."""
        self.load()
        if self._pm.is_registered(module):
            return
        try:
            self._pm.register(module, name=name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            raise PluginError(f"{name}: {exc}") from None
        hooks = self._hook_names(module)
        unknown = [hook for hook in hooks if hook not in self._spec_names()]
        if unknown:
            self._pm.unregister(module)
            raise PluginError(f"{name} implements unknown hook(s): {', '.join(unknown)}")
        self.plugins[name] = PluginInfo(name, module.__name__, "custom_imports", "-", False, hooks)
        self._recollect()

    def unregister_run_plugin(self, module: Any) -> None:
        name = self._pm.get_name(module) if self._pm.is_registered(module) else None
        if name is None:
            return
        self._pm.unregister(module)
        self._plugins.pop(name, None)
        self._recollect()


def per_step_caller(caller: Any) -> Any:
    """A hook caller for a hook that fires every iteration: None when no plugin implements it;
    the implementations called one after another (pluggy's order) when none is a wrapper and
    pluggy's tracing is off — pluggy's own call machinery costs ~7 µs, a per-cent of a small
    model's step; otherwise ``caller`` itself. Results are not collected: per-step hooks return
    nothing. Implementations registered later are not seen (a run registers its hooks first)."""
    get_hookimpls = getattr(caller, "get_hookimpls", None)
    if get_hookimpls is None:
        return caller
    implementations = get_hookimpls()
    if not implementations:
        return None
    manager = getattr(getattr(caller, "_hookexec", None), "__self__", None)
    plain_call = getattr(getattr(pluggy, "_callers", None), "_multicall", None)  # pluggy's untraced executor
    traced = plain_call is None or getattr(manager, "_inner_hookexec", None) is not plain_call
    if traced or any(impl.hookwrapper or impl.wrapper for impl in implementations):
        return caller
    calls = [(impl.function, tuple(impl.argnames)) for impl in reversed(implementations)]

    def call_each(**kwargs: Any) -> None:
        for function, argnames in calls:
            function(*[kwargs[name] for name in argnames])

    return call_each
