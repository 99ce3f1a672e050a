"""Optimizers, AMP and LR schedulers, owned by the engine.

A model's ``train_step(batch, optim)`` receives an :class:`OptimWrapperDict`;
each :class:`OptimWrapper` does the scaled backward, gradient accumulation,
clipping and the step, so models never touch GradScaler or autocast details.
"""
from __future__ import annotations

import contextlib
import difflib
from typing import Any, Iterator, Mapping

from mgx.core.errors import ConfigError

WRAPPER_TYPES = ("OptimWrapper", "AmpOptimWrapper")


AMP_DTYPES = ("float16", "bfloat16")


def default_amp_dtype(device: Any) -> str:
    """float16 on CUDA (tensor cores, with a GradScaler), bfloat16 elsewhere (float32's range)."""
    return "float16" if device.type == "cuda" else "bfloat16"


def autocast(device: Any, enabled: bool, dtype: str | None = None):
    """``torch.autocast`` for ``device`` in ``dtype`` (default: :func:`default_amp_dtype`);
    a null context when disabled."""
    import torch

    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=getattr(torch, dtype or default_amp_dtype(device)))


class OptimWrapper:
    """One optimizer with AMP, accumulation and clipping."""

    def __init__(self, optimizer: Any, *, device: Any, amp: bool = False, accumulative_counts: int = 1,
                 clip_grad: dict | None = None, name: str = "model", dtype: str | None = None,
                 loss_scale: Any = "dynamic") -> None:
        if not isinstance(accumulative_counts, int) or accumulative_counts < 1:
            raise ConfigError(f"optim_wrapper {name}: accumulative_counts must be an integer ≥ 1, got {accumulative_counts!r}")
        if dtype is not None and dtype not in AMP_DTYPES:
            raise ConfigError(f"optim_wrapper {name}: dtype must be one of {AMP_DTYPES} (or None for the device's "
                              f"default), got {dtype!r}")
        self.name = name
        self.optimizer = optimizer
        self.device = device
        self.amp = amp
        self.dtype = dtype or default_amp_dtype(device)
        self.accumulative_counts = accumulative_counts
        self.clip_grad = dict(clip_grad) if clip_grad else None
        # A GradScaler only where gradients can underflow: float16. bfloat16 has float32's range.
        self.scaler, self._static_scale = _grad_scaler(loss_scale, device, name,
                                                       needed=amp and self.dtype == "float16")
        self._micro_steps = 0

    @property
    def at_update_boundary(self) -> bool:
        return (self._micro_steps + 1) % self.accumulative_counts == 0

    @contextlib.contextmanager
    def optim_context(self, *modules: Any) -> Iterator[None]:
        """Autocast for the forward pass; skips DDP's gradient all-reduce between accumulation steps."""
        with contextlib.ExitStack() as stack:
            if not self.at_update_boundary:
                for module in modules:
                    if hasattr(module, "no_sync"):
                        stack.enter_context(module.no_sync())
            stack.enter_context(autocast(self.device, self.amp, self.dtype))
            yield

    def backward(self, loss: Any) -> None:
        if self.accumulative_counts != 1:  # x / 1 == x: without accumulation no division node a step
            loss = loss / self.accumulative_counts
        (self.scaler.scale(loss) if self.scaler else loss).backward()

    def step(self) -> None:
        import torch

        if self.clip_grad:
            if self.scaler:
                self.scaler.unscale_(self.optimizer)
            params = [p for group in self.optimizer.param_groups for p in group["params"] if p.grad is not None]
            torch.nn.utils.clip_grad_norm_(params, **self.clip_grad)
        if self.scaler:
            self.scaler.step(self.optimizer)  # skipped when the scaled gradients hold inf/NaN
            self.scaler.update(self._static_scale)  # a static loss_scale stays what the config says
        else:
            self.optimizer.step()

    def zero_grad(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)

    def _has_grads(self) -> bool:
        # after our own step the gradients are already None; only a leak needs the (slower) zero_grad
        return any(p.grad is not None for group in self.optimizer.param_groups for p in group["params"])

    def update_params(self, loss: Any) -> None:
        """backward; then, at an accumulation boundary, (unscale, clip,) step and zero_grad.

        Gradients are also cleared when a cycle starts, so gradients another
        optimizer's loss left on these parameters (a GAN's generator loss
        reaching the discriminator) never leak into this update.
        """
        if self._micro_steps % self.accumulative_counts == 0 and self._has_grads():
            self.zero_grad()
        self.backward(loss)
        boundary = self.at_update_boundary
        self._micro_steps += 1
        if boundary:
            self.step()
            self.zero_grad()

    def get_lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def state_dict(self) -> dict:
        return {
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler else None,
            "micro_steps": self._micro_steps,
        }

    def load_state_dict(self, state: dict) -> None:
        if state["optimizer"] is not None:  # None: a sharded checkpoint, whose DCP folder holds it
            self.optimizer.load_state_dict(state["optimizer"])
        if self.scaler and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self._micro_steps = int(state.get("micro_steps", 0))


class OptimWrapperDict(Mapping[str, OptimWrapper]):
    """Named optimizer wrappers; with exactly one, it also acts as that wrapper."""

    def __init__(self, wrappers: dict[str, OptimWrapper]) -> None:
        self._wrappers = dict(wrappers)

    def __getitem__(self, name: str) -> OptimWrapper:
        try:
            return self._wrappers[name]
        except KeyError:
            raise KeyError(f"no optimizer named {name!r}; optim_wrapper defines {sorted(self._wrappers)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._wrappers)

    def __len__(self) -> int:
        return len(self._wrappers)

    def _only(self) -> OptimWrapper:
        if len(self._wrappers) != 1:
            raise RuntimeError(f"several optimizers are configured ({sorted(self._wrappers)}): pick one with optim[name]")
        return next(iter(self._wrappers.values()))

    def update_params(self, loss: Any) -> None:
        self._only().update_params(loss)

    def optim_context(self, *modules: Any):
        return self._only().optim_context(*modules)

    def learning_rates(self) -> dict[str, float]:
        return {f"lr/{name}" if len(self) > 1 else "lr": wrapper.get_lr() for name, wrapper in self._wrappers.items()}

    def state_dict(self) -> dict:
        return {name: wrapper.state_dict() for name, wrapper in self._wrappers.items()}

    def load_state_dict(self, state: dict) -> None:
        missing = sorted(set(self._wrappers) - set(state))
        if missing:
            raise ConfigError(f"the checkpoint has no optimizer state for {missing}; it has {sorted(state)}")
        for name, wrapper in self._wrappers.items():
            wrapper.load_state_dict(state[name])


def _torch_class(module: Any, name: str, what: str, field: str) -> Any:
    candidate = getattr(module, name, None)
    if isinstance(candidate, type):
        return candidate
    known = sorted(n for n in dir(module) if isinstance(getattr(module, n), type) and not n.startswith("_"))
    hint = difflib.get_close_matches(name, known, n=1)
    raise ConfigError(f"{field}: unknown {what} {name!r}.{' Did you mean ' + repr(hint[0]) + '?' if hint else ''}")


def _build_optimizer(cfg: dict, params: Any, field: str) -> Any:
    import torch

    from mgx.core.config.keys import likely_misspelling, raise_type_problems

    if not isinstance(cfg, dict) or "type" not in cfg:
        raise ConfigError(f"{field} must be a dict with a 'type' naming a torch.optim optimizer, got {cfg!r}")
    kwargs = {k: v for k, v in cfg.items() if k != "type"}
    if isinstance(kwargs.get("betas"), (list, tuple)):
        # MMagic's StyleGAN configs write betas=(0, 0.99 ** r); torch wants both floats
        kwargs["betas"] = tuple(float(b) if isinstance(b, int) and not isinstance(b, bool) else b
                                for b in kwargs["betas"])
    optimizer_class = _torch_class(torch.optim, cfg["type"], "torch.optim optimizer", field)
    accepted = _optimizer_arguments(optimizer_class)
    for key in kwargs:
        if key not in accepted:
            guess = likely_misspelling(key, accepted)
            hint = f" Did you mean {field}.{guess}?" if guess else ""
            raise ConfigError(f"{field}.{key} is not an argument of {cfg['type']}.{hint} It accepts: "
                              f"{', '.join(sorted(accepted))}")
    raise_type_problems(optimizer_class, kwargs, field)
    try:
        return optimizer_class(params, **kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{field} ({cfg['type']}): {exc}") from None


def _optimizer_arguments(optimizer_class: Any) -> list[str]:
    from mgx.core.config.keys import accepted_arguments

    names, _ = accepted_arguments(optimizer_class)
    return sorted(names - {"params"})


def _grad_scaler(loss_scale: Any, device: Any, name: str, needed: bool) -> tuple[Any, float | None]:
    """MMEngine's ``loss_scale``: 'dynamic' (GradScaler's defaults), a number (a static
    scale: inf/NaN steps are still skipped, the scale never changes) or a dict of
    ``torch.amp.GradScaler`` arguments (init_scale, growth_factor, backoff_factor,
    growth_interval). Validated always; built only when ``needed`` (float16 AMP).
    Returns the scaler (or None) and the static scale (None when dynamic)."""
    import torch

    field = f"optim_wrapper {name}: loss_scale"
    kwargs: dict[str, Any] = {}
    static = None
    if isinstance(loss_scale, (int, float)) and not isinstance(loss_scale, bool):
        if not loss_scale > 0:
            raise ConfigError(f"{field} must be positive, got {loss_scale!r}")
        static = float(loss_scale)
        kwargs = {"init_scale": static}
    elif isinstance(loss_scale, dict):
        accepted = {"init_scale", "growth_factor", "backoff_factor", "growth_interval"}
        unknown = sorted(set(loss_scale) - accepted)
        if unknown:
            raise ConfigError(f"{field} has unknown key(s) {unknown}; accepted: {sorted(accepted)}")
        kwargs = dict(loss_scale)
    elif loss_scale != "dynamic":
        raise ConfigError(f"{field} must be 'dynamic', a positive number (static) or a dict of GradScaler "
                          f"arguments, got {loss_scale!r}")
    try:
        scaler = torch.amp.GradScaler(device.type, enabled=needed, **kwargs)
    except (TypeError, ValueError, AssertionError) as exc:
        raise ConfigError(f"{field}={loss_scale!r}: {exc}") from None
    return (scaler if needed else None), static


WRAPPER_KEYS = ("type", "optimizer", "accumulative_counts", "clip_grad", "loss_scale", "dtype", "constructor",
                "paramwise_cfg", "modules")
CONSTRUCTORS = ("DefaultOptimWrapperConstructor", "MultiOptimWrapperConstructor")


def _wrapper_options(cfg: dict, field: str) -> dict:
    unknown = set(cfg) - set(WRAPPER_KEYS)
    if unknown:
        raise ConfigError(f"{field} has unknown key(s) {sorted(unknown)}; accepted: {', '.join(WRAPPER_KEYS)}")
    if cfg.get("type", "OptimWrapper") not in WRAPPER_TYPES:
        raise ConfigError(f"{field}.type must be one of {WRAPPER_TYPES}, got {cfg['type']!r}")
    _check_constructor(cfg, field)
    options = {"accumulative_counts": cfg.get("accumulative_counts", 1), "clip_grad": cfg.get("clip_grad")}
    for key in ("loss_scale", "dtype"):
        if key in cfg:
            options[key] = cfg[key]
    return options


def _check_constructor(cfg: dict, field: str = "optim_wrapper") -> None:
    # MMEngine's two constructors are what mgx does: one optimizer over the model (paramwise_cfg
    # applies), or one per named sub-module (MultiOptimWrapperConstructor); anything else would be ignored
    constructor = cfg.get("constructor", "DefaultOptimWrapperConstructor")
    if constructor not in CONSTRUCTORS:
        raise ConfigError(f"{field}.constructor={constructor!r} is not supported: mgx provides {', '.join(CONSTRUCTORS)}. "
                          f"Build special parameter groups with paramwise_cfg, or in your model")


def _model_constructor(cfg: dict, model: Any) -> dict:
    """A constructor of the model's own (MMagic's ``PGGANOptimWrapperConstructor``,
    ``SinGANOptimWrapperConstructor``): a model that lists
    the name in ``OPTIM_WRAPPER_CONSTRUCTORS`` rewrites the config with ``expand_optim_wrapper(cfg)``
    into named wrappers, each naming its parameters with ``modules=``."""
    constructor = cfg.get("constructor")
    if constructor in CONSTRUCTORS or constructor not in getattr(model, "OPTIM_WRAPPER_CONSTRUCTORS", ()):
        return cfg
    return model.expand_optim_wrapper(cfg)


def _named_wrappers(cfg: dict) -> dict:
    return {name: sub for name, sub in cfg.items() if name not in ("constructor", "type", "paramwise_cfg")}


def build_optim_wrappers(cfg: dict, model: Any, *, device: Any, amp: bool, lr_scale: float = 1.0) -> OptimWrapperDict:
    """``optim_wrapper=dict(optimizer=...)`` (one, over all parameters, named 'model') or
    ``optim_wrapper=dict(generator=dict(optimizer=...), discriminator=dict(...))`` (one per sub-module,
    MMEngine's MultiOptimWrapperConstructor). ``paramwise_cfg`` sets per-parameter lr/decay multipliers;
    ``lr_scale`` (auto_scale_lr) multiplies every learning rate."""
    from mgx.core.engine.paramwise import parameter_groups

    if not isinstance(cfg, dict):
        raise ConfigError(f"optim_wrapper must be a dict, got {cfg!r}")
    cfg = _model_constructor(cfg, model)
    use_amp = amp or cfg.get("type") == "AmpOptimWrapper"
    if "optimizer" in cfg:
        options = _wrapper_options(cfg, "optim_wrapper")
        optimizer_cfg = _scaled(cfg["optimizer"], lr_scale)
        if "modules" in cfg:
            groups = parameters_of_modules(model, cfg["modules"], "optim_wrapper.modules")
        else:
            groups = parameter_groups(model, optimizer_cfg, cfg.get("paramwise_cfg"), "optim_wrapper.paramwise_cfg")
        optimizer = _build_optimizer(optimizer_cfg, groups, "optim_wrapper.optimizer")
        return OptimWrapperDict({"model": OptimWrapper(optimizer, device=device, amp=use_amp, name="model", **options)})
    _check_constructor(cfg)  # (one optimizer: checked by _wrapper_options)
    wrappers = {}
    for name, sub_cfg in _named_wrappers(cfg).items():
        field = f"optim_wrapper.{name}"
        if not isinstance(sub_cfg, dict) or "optimizer" not in sub_cfg:
            raise ConfigError(f"{field} must be dict(optimizer=dict(type=...)); got {sub_cfg!r}")
        module = getattr(model, name, None) if "modules" not in sub_cfg else model
        if module is None or not hasattr(module, "parameters"):
            children = [child for child, _ in model.named_children()]
            raise ConfigError(f"{field}: the model {type(model).__name__} has no sub-module {name!r}; "
                              f"its sub-modules are {children}")
        options = _wrapper_options(sub_cfg, field)
        options["amp"] = use_amp or sub_cfg.get("type") == "AmpOptimWrapper"
        optimizer_cfg = _scaled(sub_cfg["optimizer"], lr_scale)
        paramwise = sub_cfg.get("paramwise_cfg", cfg.get("paramwise_cfg"))
        if "modules" in sub_cfg:
            groups = parameters_of_modules(model, sub_cfg["modules"], f"{field}.modules")
        else:
            groups = parameter_groups(module, optimizer_cfg, paramwise, f"{field}.paramwise_cfg")
        optimizer = _build_optimizer(optimizer_cfg, groups, f"{field}.optimizer")
        wrappers[name] = OptimWrapper(optimizer, device=device, name=name, **options)
    if not wrappers:
        raise ConfigError("optim_wrapper defines no optimizer: give optimizer=dict(type=...) or named ones")
    return OptimWrapperDict(wrappers)


def parameters_of_modules(model: Any, names: Any, field: str) -> list:
    """MMagic's ``modules=``: the trainable parameters of each named first-level sub-module, or of every
    module whose qualified name fully matches the regex (``'.*.lora_mapping'``); each parameter once."""
    import re

    patterns = [names] if isinstance(names, str) else list(names) if isinstance(names, (list, tuple)) else None
    if not patterns or not all(isinstance(pattern, str) for pattern in patterns):
        raise ConfigError(f"{field} must be a module name or regex, or a list of them; got {names!r}")
    chosen: dict[int, Any] = {}
    for pattern in patterns:
        children = dict(model.named_children())
        matched = [children[pattern]] if pattern in children else \
            [module for name, module in model.named_modules() if name and re.fullmatch(pattern, name)]
        if not matched:
            raise ConfigError(f"{field}: no sub-module of {type(model).__name__} is named or matches {pattern!r}")
        for module in matched:
            chosen.update((id(param), param) for param in module.parameters() if param.requires_grad)
    if not chosen:
        raise ConfigError(f"{field}={names!r}: the matched modules have no trainable parameters")
    return list(chosen.values())


def _scaled(optimizer_cfg: Any, lr_scale: float) -> Any:
    if lr_scale == 1.0 or not isinstance(optimizer_cfg, dict) or not isinstance(optimizer_cfg.get("lr"), (int, float)):
        return optimizer_cfg
    return {**optimizer_cfg, "lr": optimizer_cfg["lr"] * lr_scale}


class SchedulerSet:
    """``param_scheduler``: MMEngine's schedulers by name (``mgx.core.engine.schedulers``), or any other
    ``torch.optim.lr_scheduler`` class by name; per iteration or per epoch (``by_epoch``, default:
    the train loop's unit), with ``convert_to_iter_based`` turning an epoch schedule into iterations."""

    def __init__(self, cfg: Any, optims: OptimWrapperDict, default_by_epoch: bool,
                 iters_per_epoch: int | None = None, hook: Any = None) -> None:
        from mgx.core.engine.plateau import Plateaus

        self.entries: list[tuple[Any, bool]] = []  # torch schedulers (stateful, stepped)
        self.schedules: list[tuple[Any, list[str]]] = []  # closed-form schedules and their optimizers
        self.plateaus = Plateaus(optims)  # MMagic's ReduceLR, stepped by a monitored value
        self.iteration, self.epoch = 0, 0
        self._optims = optims
        self._base_lrs = {name: [group.setdefault("initial_lr", group["lr"]) for group in wrapper.optimizer.param_groups]
                          for name, wrapper in optims.items()}
        if not cfg:
            return
        per_optimizer = isinstance(cfg, dict) and "type" not in cfg
        plan = cfg.items() if per_optimizer else [(None, cfg)]
        for optim_name, items in plan:
            if optim_name is not None and optim_name not in optims:
                raise ConfigError(f"param_scheduler.{optim_name}: there is no optimizer named {optim_name!r}; "
                                  f"optim_wrapper defines {list(optims)}")
            targets = [optim_name] if optim_name is not None else list(optims)
            for item in items if isinstance(items, (list, tuple)) else [items]:
                self._add(item, targets, default_by_epoch, iters_per_epoch)
        if self.entries and self.schedules:
            raise ConfigError("param_scheduler mixes MMEngine schedulers with other torch.optim.lr_scheduler "
                              "classes; use one kind")
        self.plateaus.finish(hook, combined=bool(self.entries or self.schedules))
        self._apply()

    def _add(self, item: Any, targets: list[str], default_by_epoch: bool, iters_per_epoch: int | None) -> None:
        import torch

        from mgx.core.config.keys import raise_type_problems
        from mgx.core.engine.schedulers import SCHEDULES

        if not isinstance(item, dict) or "type" not in item:
            raise ConfigError(f"param_scheduler items must be dicts with a 'type', got {item!r}")
        name = item["type"]
        field = f"param_scheduler {name}"
        kwargs = {k: v for k, v in item.items() if k != "type"}
        if name == "ReduceLR":
            self.plateaus.add(kwargs, targets)
            return
        if name in SCHEDULES:
            raise_type_problems(SCHEDULES[name], kwargs, f"param_scheduler[{name}]")
            try:
                schedule = SCHEDULES[name](**kwargs)
            except TypeError as exc:
                raise ConfigError(f"{field}: {exc}") from None
            if schedule.by_epoch is None:
                schedule.by_epoch = default_by_epoch
            if schedule.by_epoch and schedule.convert_to_iter_based:
                if not iters_per_epoch:
                    raise ConfigError(f"{field}: convert_to_iter_based needs the train dataloader's length")
                schedule.convert(iters_per_epoch)
            self.schedules.append((schedule, targets))
            return
        if "convert_to_iter_based" in kwargs or "begin" in kwargs or "end" in kwargs:
            raise ConfigError(f"{field}: unknown scheduler for begin/end/convert_to_iter_based; MMEngine "
                              f"schedulers mgx provides: {', '.join(sorted(SCHEDULES))}")
        by_epoch = bool(kwargs.pop("by_epoch", default_by_epoch))
        try:
            klass = _torch_class(torch.optim.lr_scheduler, name, "scheduler", "param_scheduler")
        except ConfigError:
            raise ConfigError(f"param_scheduler: unknown scheduler {name!r}. MMEngine schedulers mgx provides: "
                              f"{', '.join(sorted(SCHEDULES))} (other torch.optim.lr_scheduler classes work by "
                              f"name too)") from None
        for target in targets:
            try:
                scheduler = klass(self._optims[target].optimizer, **kwargs)
            except TypeError as exc:
                raise ConfigError(f"{field}: {exc}") from None
            self.entries.append((scheduler, by_epoch))

    def _apply(self) -> None:
        """Set every learning rate for the current (iteration, epoch)."""
        if not self.schedules:
            return
        for name, wrapper in self._optims.items():
            for group, base in zip(wrapper.optimizer.param_groups, self._base_lrs[name]):
                lr = base
                for schedule, targets in self.schedules:
                    if name in targets:
                        lr = schedule.apply(lr, self.epoch if schedule.by_epoch else self.iteration)
                group["lr"] = lr

    def step_iteration(self, loss: Any = None) -> None:
        """After a training iteration; ``loss`` (the step's total loss) feeds a ReduceLR that monitors it."""
        self.iteration += 1
        for scheduler, by_epoch in self.entries:
            if not by_epoch:
                scheduler.step()
        self.plateaus.after_iteration(loss, self.iteration)
        self._apply()

    def step_epoch(self) -> None:
        self.epoch += 1
        for scheduler, by_epoch in self.entries:
            if by_epoch:
                scheduler.step()
        self.plateaus.after_epoch(self.epoch)
        self._apply()

    def after_validation(self, metrics: dict) -> None:
        """A validation's metrics: a ReduceLR monitoring ``val_metric`` steps on them."""
        self.plateaus.after_validation(metrics, max(self.epoch, 1))

    def state_dict(self) -> list[dict]:
        position = {"iteration": self.iteration, "epoch": self.epoch}
        return [scheduler.state_dict() for scheduler, _ in self.entries] + [dict(position) for _ in self.schedules] \
            + self.plateaus.state_dict()

    def load_state_dict(self, states: list[dict]) -> None:
        expected = len(self.entries) + len(self.schedules) + len(self.plateaus)
        if len(states) != expected:
            raise ConfigError(f"the checkpoint holds {len(states)} scheduler states but the config defines {expected}")
        for (scheduler, _), state in zip(self.entries, states):
            scheduler.load_state_dict(state)
        if self.schedules:
            position = states[len(self.entries)]
            self.iteration, self.epoch = int(position["iteration"]), int(position["epoch"])
            self._apply()
        self.plateaus.load_state_dict(states[len(states) - len(self.plateaus):])
