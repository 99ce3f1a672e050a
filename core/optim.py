"""Optimizers, AMP and LR schedulers, owned by the engine.

A model's ``train_step(batch, optim)`` receives an :class:`OptimWrapperDict`;
each :class:`OptimWrapper` does the scaled backward, gradient accumulation,
clipping and the step, so models never touch GradScaler or autocast details.
"""
from __future__ import annotations

import contextlib
import difflib
from typing import Any, Iterator, Mapping

from .errors import ConfigError

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

    if not isinstance(cfg, dict) or "type" not in cfg:
        raise ConfigError(f"{field} must be a dict with a 'type' naming a torch.optim optimizer, got {cfg!r}")
    kwargs = {k: v for k, v in cfg.items() if k != "type"}
    if isinstance(kwargs.get("betas"), (list, tuple)):
        # MMagic's StyleGAN configs write betas=(0, 0.99 ** r); torch wants both floats
        kwargs["betas"] = tuple(float(b) if isinstance(b, int) and not isinstance(b, bool) else b
                                for b in kwargs["betas"])
    optimizer_class = _torch_class(torch.optim, cfg["type"], "torch.optim optimizer", field)
    try:
        return optimizer_class(params, **kwargs)
    except TypeError as exc:
        raise ConfigError(f"{field}: {exc}") from None


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


WRAPPER_KEYS = ("type", "optimizer", "accumulative_counts", "clip_grad", "loss_scale", "dtype", "constructor")


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
    # MMEngine's default constructor is what mgx does; anything else would be silently ignored
    constructor = cfg.get("constructor", "DefaultOptimWrapperConstructor")
    if constructor != "DefaultOptimWrapperConstructor":
        raise ConfigError(f"{field}.constructor={constructor!r} is not supported: mgx builds one optimizer "
                          f"per named sub-module (or one over the whole model). Remove the key, or build the "
                          f"parameter groups in your model")


def build_optim_wrappers(cfg: dict, model: Any, *, device: Any, amp: bool) -> OptimWrapperDict:
    """``optim_wrapper=dict(optimizer=...)`` (one, over all parameters, named 'model') or
    ``optim_wrapper=dict(generator=dict(optimizer=...), discriminator=dict(...))`` (one per sub-module)."""
    if not isinstance(cfg, dict):
        raise ConfigError(f"optim_wrapper must be a dict, got {cfg!r}")
    use_amp = amp or cfg.get("type") == "AmpOptimWrapper"
    if "optimizer" in cfg:
        options = _wrapper_options(cfg, "optim_wrapper")
        optimizer = _build_optimizer(cfg["optimizer"], model.parameters(), "optim_wrapper.optimizer")
        return OptimWrapperDict({"model": OptimWrapper(optimizer, device=device, amp=use_amp, name="model", **options)})
    _check_constructor(cfg)  # (one optimizer: checked by _wrapper_options)
    wrappers = {}
    for name, sub_cfg in cfg.items():
        if name in ("constructor", "type"):
            continue
        field = f"optim_wrapper.{name}"
        if not isinstance(sub_cfg, dict) or "optimizer" not in sub_cfg:
            raise ConfigError(f"{field} must be dict(optimizer=dict(type=...)); got {sub_cfg!r}")
        module = getattr(model, name, None)
        if module is None or not hasattr(module, "parameters"):
            children = [child for child, _ in model.named_children()]
            raise ConfigError(f"{field}: the model {type(model).__name__} has no sub-module {name!r}; "
                              f"its sub-modules are {children}")
        options = _wrapper_options(sub_cfg, field)
        optimizer = _build_optimizer(sub_cfg["optimizer"], module.parameters(), f"{field}.optimizer")
        wrappers[name] = OptimWrapper(optimizer, device=device, amp=use_amp or sub_cfg.get("type") == "AmpOptimWrapper",
                                      name=name, **options)
    if not wrappers:
        raise ConfigError("optim_wrapper defines no optimizer: give optimizer=dict(type=...) or named ones")
    return OptimWrapperDict(wrappers)


class SchedulerSet:
    """torch.optim.lr_scheduler schedulers by name, stepped per iteration or per epoch."""

    def __init__(self, cfg: Any, optims: OptimWrapperDict, default_by_epoch: bool) -> None:
        import torch

        self.entries: list[tuple[Any, bool]] = []
        if not cfg:
            return
        per_optimizer = isinstance(cfg, dict) and "type" not in cfg
        plan = cfg.items() if per_optimizer else [(name, cfg) for name in optims]
        for optim_name, items in plan:
            if optim_name not in optims:
                raise ConfigError(f"param_scheduler.{optim_name}: there is no optimizer named {optim_name!r}; "
                                  f"optim_wrapper defines {list(optims)}")
            for item in items if isinstance(items, (list, tuple)) else [items]:
                if not isinstance(item, dict) or "type" not in item:
                    raise ConfigError(f"param_scheduler items must be dicts with a 'type', got {item!r}")
                kwargs = {k: v for k, v in item.items() if k not in ("type", "by_epoch")}
                klass = _torch_class(torch.optim.lr_scheduler, item["type"], "torch.optim.lr_scheduler scheduler",
                                     "param_scheduler")
                try:
                    scheduler = klass(optims[optim_name].optimizer, **kwargs)
                except TypeError as exc:
                    raise ConfigError(f"param_scheduler {item['type']}: {exc}") from None
                self.entries.append((scheduler, bool(item.get("by_epoch", default_by_epoch))))

    def step_iteration(self) -> None:
        for scheduler, by_epoch in self.entries:
            if not by_epoch:
                scheduler.step()

    def step_epoch(self) -> None:
        for scheduler, by_epoch in self.entries:
            if by_epoch:
                scheduler.step()

    def state_dict(self) -> list[dict]:
        return [scheduler.state_dict() for scheduler, _ in self.entries]

    def load_state_dict(self, states: list[dict]) -> None:
        if len(states) != len(self.entries):
            raise ConfigError(f"the checkpoint holds {len(states)} scheduler states but the config defines {len(self.entries)}")
        for (scheduler, _), state in zip(self.entries, states):
            scheduler.load_state_dict(state)
