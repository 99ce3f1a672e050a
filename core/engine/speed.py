"""The config's speed switches, applied to a built model: ``compile`` and ``channels_last``.

``compile=True`` (or ``compile=dict(backend=..., mode=..., fullgraph=..., dynamic=..., options=...)``,
MMEngine's key) compiles each trainable sub-network in place with ``nn.Module.compile``: a GAN's
generator and discriminator separately (they step with separate optimizers), and their EMA copies.
Compiling in place keeps every state-dict key, so checkpoints, ``--resume``, ``load_from`` and EMA
are the same with or without it. Compilation is lazy: the first step pays for it, and that time is
logged (``perf/compile_first_step_s`` in MLflow). With ``--debug`` (``MGX_DEBUG=1``) dynamo's graph
breaks and recompilations are logged as they happen.

``channels_last=True`` puts a convolutional model's weights, and the training batches' images, in
channels-last memory format (faster convolutions on GPUs with tensor cores and on recent CPUs); the
numbers are those of the default format within float rounding.
"""
from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass, field
from typing import Any

from mgx.core.errors import ConfigError

COMPILE_KEYS = ("backend", "mode", "fullgraph", "dynamic", "options", "disable")


_EAGER = threading.local()


@contextlib.contextmanager
def eager_networks():
    """Within the block, networks compiled by ``compile`` run their eager forward.

    For losses that differentiate twice (``autograd.grad(..., create_graph=True)`` through a
    network, as StyleGAN2's path-length regularizer does): compiled graphs have no double
    backward. A call whose input is a leaf tensor that requires grad (R1 and gradient penalties
    differentiate with respect to such an input) runs eagerly without it."""
    previous = getattr(_EAGER, "on", False)
    _EAGER.on = True
    try:
        yield
    finally:
        _EAGER.on = previous


def _dispatching(module: Any) -> Any:
    """The in-place compiled call, or the eager one for a call that will be differentiated twice."""
    import torch

    compiled, eager = module._compiled_call_impl, module._call_impl

    def call(*args: Any, **kwargs: Any) -> Any:
        if getattr(_EAGER, "on", False) or (torch.is_grad_enabled() and any(
                isinstance(value, torch.Tensor) and value.is_leaf and value.requires_grad for value in args)):
            return eager(*args, **kwargs)
        return compiled(*args, **kwargs)
    return call


def compile_in_place(module: Any, options: dict) -> None:
    module.compile(**options)
    module._compiled_call_impl = _dispatching(module)


def compile_options(value: Any, filename: str = "the config") -> dict | None:
    """``compile``'s value as ``torch.compile`` keyword arguments; None when off."""
    if value is None or value is False:
        return None
    if value is True:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{filename}: compile={value!r} must be True/False or dict(backend=..., mode=...)")
    unknown = sorted(set(value) - set(COMPILE_KEYS))
    if unknown:
        raise ConfigError(f"{filename}: compile has unknown key(s) {', '.join(unknown)}; "
                          f"torch.compile accepts {', '.join(COMPILE_KEYS)}")
    options = {key: item for key, item in value.items() if key != "disable"}
    return None if value.get("disable") else options


def channels_last_option(value: Any, filename: str = "the config") -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ConfigError(f"{filename}: channels_last={value!r} must be True or False")
    return value


def check_speed_keys(cfg: Any) -> None:
    """Both keys' values are valid (called before anything is built)."""
    filename = getattr(cfg, "filename", None) or "the config"
    compile_options(cfg.get("compile"), filename)
    channels_last_option(cfg.get("channels_last"), filename)


def trainable_children(model: Any) -> list[str]:
    """Names of the direct children with trainable parameters: the networks an optimizer steps."""
    return [name for name, child in model.named_children()
            if any(parameter.requires_grad for parameter in child.parameters())]


def is_convolutional(model: Any) -> bool:
    import torch

    return any(isinstance(module, torch.nn.Conv2d) for module in model.modules())


@dataclass
class Acceleration:
    """What was applied; the trainer reports the first step's time when something was compiled."""
    compiled: list[str] = field(default_factory=list)
    memory_format: Any = None  # torch.channels_last for the batches, or None
    first_step_pending: bool = False

    def report_first_step(self, seconds: float, run: Any) -> None:
        """Log the first step's wall time (compilation included) and the graph breaks seen so far."""
        self.first_step_pending = False
        from torch._dynamo.utils import counters

        breaks = counters.get("graph_break", {})
        count = sum(breaks.values())
        if run.is_main:
            run.logger.info(f"compile: first step took {seconds:.2f} s (compilation of "
                            f"{', '.join(self.compiled)} included); {count} graph break(s)"
                            + ("" if not count else "; --debug lists them"))
            if run.tracker is not None:
                run.tracker.log_metrics({"perf/compile_first_step_s": seconds,
                                         "perf/compile_graph_breaks": float(count)}, step=run.iteration)


def accelerate(model: Any, ema: Any, cfg: Any, logger: Any) -> Acceleration:
    """Apply ``channels_last`` and ``compile`` to ``model`` (and the EMA copy) in place.

    Call after the EMA copy exists: a deep copy of an in-place-compiled module would call the
    original's forward."""
    import torch

    filename = getattr(cfg, "filename", None) or "the config"
    acceleration = Acceleration()
    modules = [model] + ([ema.module] if ema is not None else [])
    if channels_last_option(cfg.get("channels_last"), filename):
        if is_convolutional(model):
            for module in modules:
                module.to(memory_format=torch.channels_last)
            acceleration.memory_format = torch.channels_last
        else:
            logger.warning(f"channels_last=True: {type(model).__name__} has no 2-d convolution; format left as is")
    options = compile_options(cfg.get("compile"), filename)
    if options is not None:
        names = trainable_children(model) or []
        if os.environ.get("MGX_DEBUG"):
            torch._logging.set_logs(graph_breaks=True, recompiles=True)
        for module in modules:
            for name in names:
                compile_in_place(getattr(module, name), options)
        if not names:  # a model without sub-networks: its own forward is what the steps call
            for module in modules:
                compile_in_place(module, options)
        acceleration.compiled = names or [type(model).__name__]
        acceleration.first_step_pending = True
        logger.info(f"compile: {', '.join(acceleration.compiled)} with torch.compile({_describe(options)})")
    return acceleration


def _describe(options: dict) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in options.items())

