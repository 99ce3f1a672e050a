"""One run's set-up and teardown, the same for ``train`` and ``test``.

:class:`RunSession` is a context manager. Entering it checks the tracking store,
prepares the config (every config error before anything is created), resolves the
:class:`RunSettings` once, joins the process group, creates the work_dir and the run
log. Leaving it — finished, failed or interrupted — calls ``mgx_after_run``,
unregisters the run's hooks and plugins, closes the MLflow run with the status,
and leaves the process group and the log.
"""
from __future__ import annotations

import random
from typing import Any

from mgx.core import distributed
from mgx.core.config.loader import Config
from mgx.core.distributed import preemption
from mgx.core.engine.randomness import rank_seed, seed_everything
from mgx.core.errors import ConfigError
from mgx.core.registry import build, build_list
from mgx.core.run.context import RunContext
from mgx.core.run.log import close_run_logger, setup_run_logger
from mgx.core.run.prepared import PreparedRun, prepare_run, release_run
from mgx.core.run.settings import RunOptions, RunSettings, check_tracking_uri
from mgx.core.run.tracking_setup import start_tracker
from mgx.core.run.workdir_lock import WorkDirLock


def status_of(exc: BaseException | None) -> str:
    """How a run ended, by the exception that ended it."""
    if exc is None:
        return "FINISHED"
    return "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED"


class RunSession:
    """Set-up on entry, teardown on exit; ``status`` (default FINISHED) is how the body ended."""

    def __init__(self, cfg: Config, options: RunOptions, plugins: Any, mode: str) -> None:
        self.cfg, self.options, self.plugins, self.mode = cfg, options, plugins, mode
        self.prepared: PreparedRun | None = None
        self.run: RunContext | None = None
        self.tracker: Any = None
        self.custom_hooks: list = []
        self.status: str | None = None
        self.upload_log = mode == "train"  # a training's log goes to MLflow with it
        self.log_path: Any = None
        self.work_dir_lock: WorkDirLock | None = None

    # -- set-up --------------------------------------------------------------------

    def __enter__(self) -> "RunSession":
        check_tracking_uri(self.cfg, self.options)
        self.prepared = prepare_run(self.cfg, self.plugins, mode=self.mode)
        try:
            self.settings = RunSettings.resolve(self.cfg, self.options)
            self._join()
        except BaseException as exc:
            self._teardown(status_of(exc))
            raise
        return self

    def _join(self) -> None:
        prepared = self.prepared
        self.device = distributed.init_distributed(prepared.dist_timeout, prepared.dist_backend)
        self.rank, self.world_size = distributed.get_rank(), distributed.get_world_size()
        self.work_dir = self.settings.work_dir
        refused = None
        if self.rank == 0:
            try:
                self.work_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(f"cannot create work_dir {self.work_dir}: {exc.strerror}") from None
            refused = self._lock_work_dir()
        # every rank ends with rank 0's refusal (none waits at a barrier for a rank that left)
        refused = distributed.broadcast_object(refused)
        if refused is not None:
            raise ConfigError(refused)
        distributed.barrier()
        self.logger, self.log_path = setup_run_logger(self.work_dir, self.rank, self.world_size)
        prepared.apply_log_level(self.logger)
        prepared.apply_env()
        if self.rank == 0:
            for warning in prepared.warnings:
                self.logger.warning(warning)

    def _lock_work_dir(self) -> str | None:
        """A training holds its work_dir for its life (rank 0 only); the refusal message, or None."""
        if self.mode != "train":
            return None
        lock = WorkDirLock(self.work_dir)
        try:
            lock.acquire()
        except ConfigError as exc:
            return str(exc)
        self.work_dir_lock = lock
        return None

    @property
    def amp(self) -> bool:
        return self.settings.amp

    def apply_seed(self, resumed_seed: int | None = None) -> None:
        """Seed every RNG with the settings' seed (a fresh one, the same on every rank, when none is set)."""
        seed = self.settings.seed(resumed_seed)
        if seed is None:
            seed = distributed.broadcast_object(random.SystemRandom().randrange(2**31))
        self.seed = int(seed)
        self.deterministic = self.settings.deterministic
        # the seed goes into the saved config so a resumed or repeated run uses the same one
        self.cfg.setdefault("randomness", {})["seed"] = self.seed
        seed_everything(rank_seed(self.seed, self.rank, self.settings.diff_rank_seed), self.deterministic)
        if self.amp and self.device.type != "cuda":
            self.logger.warning("--amp: no CUDA device here, so autocast runs on the CPU in bfloat16 unless "
                                "optim_wrapper.dtype says otherwise (bfloat16 needs no gradient scaling)")
        self.logger.info(f"mgx {self.mode}: config {self.settings.config_path}, work_dir {self.work_dir}, "
                         f"{self.world_size} process(es) on {self.device}, seed {self.seed}")

    def build_model(self, cfg: Config) -> Any:
        if "model" not in cfg:
            raise ConfigError(f"config {cfg.filename} has no model=dict(type=...)")
        return build(cfg["model"], "model").to(self.device)

    def begin(self, run: RunContext) -> None:
        """The run exists: the config's ``custom_hooks`` listen to it from now on (this run only)."""
        self.run = run
        self.custom_hooks = build_list(self.prepared.run_hook_configs(), "run_hook")
        for index, hook in enumerate(self.custom_hooks):
            self.plugins.register_run_hook(hook, name=f"custom_hooks[{index}]:{type(hook).__name__}")

    def start_tracker(self, resume_run_id: str | None, resume_step: int | None, config_text: str,
                      hosts: list[str] | None = None, on_run_opened: Any = None) -> Any:
        """Open the run's MLflow run on rank 0 (None elsewhere or with tracking off); it is closed on exit."""
        if self.rank != 0:
            return None
        tracker = start_tracker(self.cfg, self.settings, self.world_size, self.work_dir, self.plugins,
                                resume_run_id, resume_step, config_text, self.mode, hosts, on_run_opened)
        self.tracker = tracker
        if self.run is not None:
            self.run.tracker = tracker
        return tracker

    # -- teardown ------------------------------------------------------------------

    def __exit__(self, exc_type: Any, exc: BaseException | None, traceback: Any) -> bool:
        status = status_of(exc) if exc is not None else (self.status or "FINISHED")
        if isinstance(exc, KeyboardInterrupt) and self.run is not None:
            self.logger.warning(self._interrupted_message())
        self._teardown(status)
        return False

    def _interrupted_message(self) -> str:
        """What Ctrl-C leaves: nothing is saved at the interruption (SIGTERM saves; Ctrl-C is asked
        to stop now), so the message names the checkpoint a --resume would continue from."""
        from mgx.core.engine.checkpoint import read_marker

        message = f"interrupted at iteration {self.run.iteration}"
        if self.mode != "train":
            return message
        last = read_marker(self.work_dir)
        if last is not None and last.exists():
            return f"{message}; the last checkpoint is {last} (continue from it with --resume)"
        return f"{message}; no checkpoint was saved yet"

    def _teardown(self, status: str) -> None:
        try:
            try:
                if self.tracker is not None and self.upload_log:
                    self.tracker.log_artifact(self.log_path, "logs")
                self._after_run(status)
            finally:
                release_run(self.prepared, self.plugins)
            if self.tracker is not None:
                if status == "PREEMPTED":
                    self.tracker.leave_open_preempted()
                else:
                    self.tracker.finish(status)
        finally:
            if self.work_dir_lock is not None:
                self.work_dir_lock.release()
            preemption.uninstall_handlers()
            distributed.destroy_distributed(wait_for_peers=status == "FINISHED")
            close_run_logger()

    def _after_run(self, status: str) -> None:
        if self.run is None:
            return
        try:
            self.plugins.hook.mgx_after_run(run=self.run, status=status)
        finally:
            for hook in self.custom_hooks:
                self.plugins.unregister(hook)


__all__ = ["RunSession", "status_of"]
