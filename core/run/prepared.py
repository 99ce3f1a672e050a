"""From a resolved config to what the engine needs, before anything is created.

``prepare_run`` imports ``custom_imports`` (registering their plugins for the
run), accounts for every key (errors together, exit 2, before the work_dir,
the log or an MLflow run exist) and collects the start-up warnings. Its
:class:`PreparedRun` then maps MMEngine's engine keys to mgx's settings:
``env_cfg``, ``model_wrapper_cfg``, ``resume``, ``log_level``,
``auto_scale_lr``, ``default_hooks.checkpoint``/``logger``, the
visualization hooks and ``vis_backends``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mgx.core.config.loader import Config
from mgx.core.config.check import VISUALIZATION_HOOKS, account_config
from mgx.core.config.custom_imports import register_custom_imports
from mgx.core.errors import ConfigError
from mgx.core.run.settings import resolve_resume

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOCAL_VIS_BACKENDS = ("LocalVisBackend", "VisBackend", "GenVisBackend")


@dataclass
class PreparedRun:
    cfg: Any
    run_plugins: list = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    # -- mapped engine keys -------------------------------------------------------------

    def _section(self, key: str) -> dict:
        value = self.cfg.get(key)
        return dict(value) if isinstance(value, dict) else {}

    @property
    def dist_backend(self) -> str | None:
        return self._section("env_cfg").get("dist_cfg", {}).get("backend")

    @property
    def dist_timeout(self) -> float | None:
        timeout = self._section("env_cfg").get("dist_cfg", {}).get("timeout")
        return float(timeout) if isinstance(timeout, (int, float)) else None

    def apply_env(self) -> None:
        """``env_cfg``: cudnn benchmark, the worker start method, OpenCV's thread count."""
        import torch

        env = self._section("env_cfg")
        if "cudnn_benchmark" in env:
            torch.backends.cudnn.benchmark = bool(env["cudnn_benchmark"])
        mp_cfg = dict(env.get("mp_cfg") or {})
        method = mp_cfg.get("mp_start_method")
        if method is not None:
            import multiprocessing

            if method not in multiprocessing.get_all_start_methods():
                raise ConfigError(f"env_cfg.mp_cfg.mp_start_method={method!r} is not available here; "
                                  f"choose one of {multiprocessing.get_all_start_methods()}")
            torch.multiprocessing.set_start_method(method, force=True)
        threads = mp_cfg.get("opencv_num_threads")
        if threads is not None:
            try:
                import cv2  # optional: only when OpenCV is installed

                cv2.setNumThreads(int(threads))
            except ImportError:
                pass

    @property
    def fsdp_options(self) -> dict | None:
        """``fully_shard``'s options when model_wrapper_cfg asks for FSDP (checked), else None."""
        from mgx.core.distributed.fsdp import check_fsdp_run, fsdp_options, is_fsdp

        wrapper = self._section("model_wrapper_cfg")
        if not is_fsdp(wrapper):
            return None
        check_fsdp_run(self.cfg)
        return fsdp_options(wrapper)

    @property
    def ddp_options(self) -> dict:
        wrapper = self._section("model_wrapper_cfg")
        return {"find_unused_parameters": bool(wrapper.get("find_unused_parameters", False)),
                "broadcast_buffers": bool(wrapper.get("broadcast_buffers", False))}

    def resume(self, from_command_line: str | None) -> str | None:
        """``--resume`` wins; else ``resume=True`` (newest in work_dir) or ``resume='path'``."""
        return resolve_resume(from_command_line, self.cfg)

    def apply_log_level(self, logger: logging.Logger) -> None:
        level = self.cfg.get("log_level")
        if level is None:
            return
        if not isinstance(level, str) or level.upper() not in LOG_LEVELS:
            raise ConfigError(f"log_level must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
        logger.setLevel(level.upper())

    def lr_scale(self, world_size: int, batch_size: int) -> float:
        """``auto_scale_lr=dict(enable=True, base_batch_size=N)``: lr × (world_size × batch_size) / N."""
        auto = self._section("auto_scale_lr")
        if not auto.get("enable", False):
            return 1.0
        base = auto.get("base_batch_size")
        if isinstance(base, bool) or not isinstance(base, int) or base <= 0:
            raise ConfigError(f"auto_scale_lr.base_batch_size must be a positive integer, got {base!r}")
        return world_size * batch_size / base

    def checkpoint_options(self, work_dir: Path, loop_by_epoch: bool | None = None) -> dict:
        """``default_hooks.checkpoint`` for CheckpointPolicy (MMEngine-only keys mapped or reported)."""
        from mgx.core.engine.checkpoint import CheckpointPolicy
        from mgx.core.config.keys import accepted_arguments

        hook = dict(self._section("default_hooks").get("checkpoint") or {})
        if hook.get("save_optimizer") is False:
            self._note("default_hooks.checkpoint.save_optimizer=False: mgx keeps the optimizer state in "
                                 "every checkpoint (--resume needs it)")
        if loop_by_epoch is not None and "by_epoch" in hook and bool(hook["by_epoch"]) != loop_by_epoch:
            unit = "epoch" if loop_by_epoch else "iteration"
            self._note(f"default_hooks.checkpoint.by_epoch={hook['by_epoch']}: the interval counts "
                                 f"{unit}s, the train loop's unit")
        out_dir = hook.get("out_dir")
        if out_dir is not None:
            # MMEngine saves to out_dir/<work_dir name>; MMagic's configs point that at work_dir itself
            target = (Path(out_dir) / work_dir.name).resolve()
            if target != work_dir.resolve():
                self._note(f"default_hooks.checkpoint.out_dir={out_dir!r}: checkpoints stay in the "
                                     f"work_dir {work_dir} (where --resume and `mgx run test` find them)")
        accepted, _ = accepted_arguments(CheckpointPolicy)
        return {key: value for key, value in hook.items() if key in accepted}

    def _note(self, message: str) -> None:
        """A mapping note found after start-up (the run log exists by now): log it once."""
        if message not in self.warnings:
            self.warnings.append(message)
            logging.getLogger("mgx").warning(message)

    @property
    def log_interval(self) -> int:
        logger_cfg = dict(self._section("default_hooks").get("logger") or {})
        return int(logger_cfg.get("interval", 10))

    def run_hook_configs(self) -> list:
        """``custom_hooks`` without the visualization hooks (mgx's sample grids do their job)."""
        hooks = self.cfg.get("custom_hooks") or []
        hooks = hooks if isinstance(hooks, (list, tuple)) else [hooks]
        return [hook for hook in hooks if not (isinstance(hook, dict) and hook.get("type") in VISUALIZATION_HOOKS)]

    def _mapping_notes(self) -> None:
        hooks = self.cfg.get("custom_hooks") or []
        vis = [hook["type"] for hook in (hooks if isinstance(hooks, (list, tuple)) else [hooks])
               if isinstance(hook, dict) and hook.get("type") in VISUALIZATION_HOOKS]
        if vis:
            self.warnings.append(f"custom_hooks {', '.join(vis)}: mgx saves a sample grid at every validation "
                                 f"(work_dir/samples, and MLflow under 'samples'); their interval and "
                                 f"vis_kwargs_list are not used")
        backends = self._section("visualizer").get("vis_backends") or self.cfg.get("vis_backends") or []
        remote = [b.get("type") for b in backends if isinstance(b, dict) and b.get("type") not in LOCAL_VIS_BACKENDS]
        if remote:
            self.warnings.append(f"vis_backends {', '.join(map(str, remote))}: mgx records scalars and images in "
                                 f"MLflow instead")
        window = self._section("log_processor").get("window_size")
        if isinstance(window, int) and window != self.log_interval:
            self.warnings.append(f"log_processor.window_size={window}: mgx logs each loss as the mean over the "
                                 f"logger interval ({self.log_interval} iterations)")


def prepare_run(cfg: Any, plugins: Any, mode: str = "train") -> PreparedRun:
    """Custom imports, component types, key accounting and warnings; raises ConfigError
    (everything found) before the work_dir, the log or a tracking run exist."""
    from mgx.core.engine.speed import check_speed_keys
    from mgx.core.run.preflight import check_component_types

    modules = register_custom_imports(cfg, plugins)
    prepared = PreparedRun(cfg, run_plugins=modules)
    try:
        registry = plugins.registry if plugins is not None else None
        accounting = account_config(cfg, registry, strict=True)
        if registry is not None:
            # unregistered types (nested ones too) named together with every other problem; the
            # visualization hooks are mapped, not built
            view = Config({**cfg, "custom_hooks": prepared.run_hook_configs()},
                          filename=getattr(cfg, "filename", "the config"))
            check_component_types(view, mode, plugins, accounting.errors)
        accounting.raise_errors(getattr(cfg, "filename", "config"))
        prepared.resume(None)
        check_speed_keys(cfg)
        prepared.apply_log_level(logging.getLogger("_mgx_check"))
    except BaseException:
        release_run(prepared, plugins)
        raise
    prepared.warnings.extend(getattr(cfg, "load_warnings", []) or [])
    if accounting.warning():
        prepared.warnings.append(accounting.warning())
    prepared._mapping_notes()
    return prepared


def release_run(prepared: PreparedRun | None, plugins: Any) -> None:
    if prepared is None or plugins is None:
        return
    for module in prepared.run_plugins:
        plugins.unregister_run_plugin(module)
    prepared.run_plugins = []
