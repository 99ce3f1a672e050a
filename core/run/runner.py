"""``train`` and ``test``: wire config, plugins, data, model, optimizers, tracking and loops.

This module only assembles parts that live in their own modules (loops,
training session, validation, checkpoint, optim, data, distributed, tracking).
"""
from __future__ import annotations

import json
import logging
import os
import random
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mgx.core import distributed

from mgx.core.distributed import preemption

from mgx.core.run import preflight
from mgx.core.engine.checkpoint import (CheckpointPolicy, atomic_write_bytes, clean_stale_temporaries, load_checkpoint,
                         load_model_weights, weights_of)
from mgx.core.engine.checkpoint_state import CheckpointState
from mgx.core.config.loader import Config, dump_config, to_plain
from mgx.core.run.context import RunContext
from mgx.core.engine.data import build_dataloader
from mgx.core.distributed.ddp import wrap_trainable_children
from mgx.core.engine.ema import ExponentialMovingAverage
from mgx.core.engine.speed import accelerate
from mgx.core.errors import ConfigError, MgxError
from mgx.core.evaluation.evaluator import Evaluator, declared_directions, format_metrics
from mgx.core.engine.loops import eval_loop_from_cfg, train_loop_from_cfg
from mgx.core.engine.optim import SchedulerSet, build_optim_wrappers
from mgx.core.run.progress import Progress, evaluation_progress
from mgx.core.engine.randomness import rank_seed, seed_everything
from mgx.core.registry import build, build_list
from mgx.core.run.resume import StartPoint, already_finished, start_point
from mgx.core.run.prepared import PreparedRun, prepare_run, release_run
from mgx.core.run.record import write_run_record
from mgx.core.run.closing import close_finished_training, run_left_open
from mgx.core.run.tracking_setup import check_tracking_uri, record_directions, start_tracker, tracking_settings
from mgx.core.run.log import close_run_logger, setup_run_logger
from mgx.core.engine.training import Trainer, drop_stale_best
from mgx.core.evaluation.validation import EvalSet, Validator

log = logging.getLogger("mgx")


@dataclass
class RunOptions:
    """What the command line adds to the config."""

    config_path: Path
    work_dir: Path | None = None
    amp: bool = False
    resume: str | None = None          # None, "auto" (newest in work_dir) or a checkpoint path
    seed: int | None = None
    deterministic: bool = False
    launcher: str = "local"
    tracking: dict = field(default_factory=dict)  # tracking_uri, experiment, run_name, enabled
    out: Path | None = None            # test results JSON
    run_tags: dict = field(default_factory=dict)  # extra MLflow tags (e.g. mgx.source_run_id of --from-run)


@dataclass
class RunResult:
    status: str
    work_dir: Path
    iteration: int = 0
    metrics: dict = field(default_factory=dict)
    best: tuple[str, float] | None = None
    last_checkpoint: Path | None = None
    best_checkpoint: Path | None = None
    tracking_run_id: str | None = None


def resolve_work_dir(cfg: Config, options: RunOptions) -> Path:
    """``--work-dir``, else the config's ``work_dir``, else ``work_dirs/<config stem>``."""
    if options.work_dir is not None:
        return Path(options.work_dir)
    if cfg.get("work_dir"):
        return Path(cfg["work_dir"])
    return Path("work_dirs") / options.config_path.stem


# -- shared set-up -----------------------------------------------------------------


class _Setup:
    """Process-level set-up both commands share: distributed, work_dir, log, seed."""

    def __init__(self, cfg: Config, options: RunOptions, mode: str, prepared: PreparedRun) -> None:
        self.device = distributed.init_distributed(prepared.dist_timeout, prepared.dist_backend)
        self.rank, self.world_size = distributed.get_rank(), distributed.get_world_size()
        self.work_dir = resolve_work_dir(cfg, options).resolve()
        if self.rank == 0:
            try:
                self.work_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(f"cannot create work_dir {self.work_dir}: {exc.strerror}") from None
        distributed.barrier()
        self.logger, self.log_path = setup_run_logger(self.work_dir, self.rank, self.world_size)
        prepared.apply_log_level(self.logger)
        prepared.apply_env()
        if self.rank == 0:
            for warning in prepared.warnings:
                self.logger.warning(warning)
        self.mode = mode
        self.amp = bool(options.amp)
        self.cfg, self.options = cfg, options

    def apply_seed(self, resumed_seed: int | None = None) -> None:
        """Seed every RNG: --seed, else the resumed run's seed, else the config's, else a fresh one."""
        cfg, options = self.cfg, self.options
        randomness = dict(cfg.get("randomness") or {})
        seed = options.seed
        if seed is None:
            seed = resumed_seed if resumed_seed is not None else randomness.get("seed")
        if seed is None:
            seed = distributed.broadcast_object(random.SystemRandom().randrange(2**31))
        self.seed = int(seed)
        self.deterministic = bool(options.deterministic or randomness.get("deterministic", False))
        self.diff_rank_seed = bool(randomness.get("diff_rank_seed", False))
        # the seed goes into the saved config so a resumed or repeated run uses the same one
        cfg.setdefault("randomness", {})
        cfg["randomness"]["seed"] = self.seed
        seed_everything(rank_seed(self.seed, self.rank, self.diff_rank_seed), self.deterministic)
        if self.amp and self.device.type != "cuda":
            self.logger.warning("--amp: no CUDA device here, so autocast runs on the CPU in bfloat16 unless "
                                "optim_wrapper.dtype says otherwise (bfloat16 needs no gradient scaling)")
        self.logger.info(f"mgx {self.mode}: config {options.config_path}, work_dir {self.work_dir}, "
                         f"{self.world_size} process(es) on {self.device}, seed {self.seed}")

    def build_model(self, cfg: Config) -> Any:
        if "model" not in cfg:
            raise ConfigError(f"config {cfg.filename} has no model=dict(type=...)")
        return build(cfg["model"], "model").to(self.device)


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def build_eval_sets(cfg: Config, loader_key: str, evaluator_key: str, seed: int, device: Any) -> list[EvalSet]:
    """Dataloader/evaluator pairs: one, or the same number of each (MultiValLoop), or one evaluator for all."""
    loaders = _as_list(cfg.get(loader_key))
    evaluators = _as_list(cfg.get(evaluator_key))
    if not loaders and not evaluators:
        return []
    if not evaluators:
        raise ConfigError(f"{loader_key} is set but {evaluator_key} is not: add {evaluator_key}=dict(type='Evaluator', metrics=[...])")
    if len(evaluators) == 1 and len(loaders) > 1:
        evaluators = evaluators * len(loaders)
    if loaders and len(loaders) != len(evaluators):
        raise ConfigError(f"{loader_key} has {len(loaders)} entries but {evaluator_key} has {len(evaluators)}: "
                          f"give one evaluator, or one per dataloader")
    sets = []
    for index, evaluator_cfg in enumerate(evaluators):
        field = f"{evaluator_key}[{index}]" if len(evaluators) > 1 else evaluator_key
        if not isinstance(evaluator_cfg, dict) or evaluator_cfg.get("type", "Evaluator") != "Evaluator":
            raise ConfigError(f"{field} must be dict(type='Evaluator', metrics=[...]), got {evaluator_cfg!r}")
        unknown = set(evaluator_cfg) - {"type", "metrics"}
        if unknown:
            raise ConfigError(f"{field} has unknown key(s) {sorted(unknown)}; it takes metrics=[...]")
        loader_cfg = loaders[index] if loaders else None
        loader = (build_dataloader(loader_cfg, field=f"{loader_key}[{index}]" if len(loaders) > 1 else loader_key,
                                   seed=seed, training=False, device=device) if loader_cfg else None)
        # the pre-flight reports the metrics' problems together with every other one
        evaluator = Evaluator(_as_list(evaluator_cfg.get("metrics")), field=field, defer_problems=True)
        sets.append(EvalSet(loader, evaluator, to_plain(loader_cfg)))
    return sets


def _register_custom_hooks(prepared: PreparedRun, plugins: Any) -> list[Any]:
    hooks = build_list(prepared.run_hook_configs(), "run_hook")
    for index, hook in enumerate(hooks):
        plugins.register_run_hook(hook, name=f"custom_hooks[{index}]:{type(hook).__name__}")
    return hooks


def _finish(plugins: Any, custom_hooks: list, run: RunContext | None, status: str, tracker: Any,
            prepared: PreparedRun | None = None) -> None:
    try:
        if run is not None:
            try:
                plugins.hook.mgx_after_run(run=run, status=status)
            finally:
                for hook in custom_hooks:
                    plugins.unregister(hook)
    finally:
        release_run(prepared, plugins)
    if tracker is not None:
        if status == "PREEMPTED":
            tracker.leave_open_preempted()
        else:
            tracker.finish(status)


def _status_of(exc: BaseException | None) -> str:
    if exc is None:
        return "FINISHED"
    return "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED"


# -- train ---------------------------------------------------------------------------


def train(cfg: Config, options: RunOptions, plugins: Any) -> RunResult:
    """Train per ``cfg``; returns how it ended. Raises MgxError subclasses for user-fixable problems."""
    check_tracking_uri(cfg, options)
    prepared = prepare_run(cfg, plugins)  # config errors surface here, before anything is created
    options.resume = prepared.resume(options.resume)
    setup = _Setup(cfg, options, "train", prepared)
    run: RunContext | None = None
    tracker = None
    custom_hooks: list = []
    status = "FAILED"
    try:
        if setup.rank == 0:
            clean_stale_temporaries(setup.work_dir)
        start = start_point(options.resume, setup.work_dir, setup.logger)
        resume = start.checkpoint
        setup.apply_seed(start.meta.seed if resume is not None else None)
        loop = train_loop_from_cfg(cfg.get("train_cfg"), build)
        val_loop = eval_loop_from_cfg(cfg.get("val_cfg"), "val_cfg", build)
        finished = already_finished(start, loop, setup.work_dir)
        if finished is not None:  # nothing to train: leave the work_dir's files and the MLflow run as they are
            status = "FINISHED"
            if setup.rank == 0 and run_left_open(tracking_settings(cfg, options), start.tracking_run_id):
                _close_left_open_run(cfg, options, setup, plugins, start)
            else:
                setup.logger.warning(finished)
            return RunResult(status=status, work_dir=setup.work_dir, iteration=start.meta.iteration,
                             tracking_run_id=start.tracking_run_id)
        hosts = distributed.all_gather_object(socket.gethostname())
        config_text = dump_config(cfg)
        if setup.rank == 0:
            atomic_write_bytes(setup.work_dir / Path(options.config_path).name, lambda f: f.write(config_text.encode()))
        model = setup.build_model(cfg)
        if cfg.get("load_from") and resume is None:
            load_model_weights(model, weights_of(load_checkpoint(cfg["load_from"])), str(cfg["load_from"]))
            setup.logger.info(f"loaded weights from {cfg['load_from']}")
        ema = ExponentialMovingAverage(model, **dict(cfg["ema_config"])) if cfg.get("ema_config") else None
        acceleration = accelerate(model, ema, cfg, setup.logger)  # compile, channels_last
        if "train_dataloader" not in cfg:
            raise ConfigError(f"config {cfg.filename} has no train_dataloader")
        loader = build_dataloader(cfg["train_dataloader"], field="train_dataloader", seed=setup.seed,
                                  training=True, infinite=not loop.by_epoch, device=setup.device)
        eval_sets = build_eval_sets(cfg, "val_dataloader", "val_evaluator", setup.seed, setup.device)
        ddp_originals = (wrap_trainable_children(model, setup.device, **prepared.ddp_options)
                         if setup.world_size > 1 else {})
        if "optim_wrapper" not in cfg:
            raise ConfigError(f"config {cfg.filename} has no optim_wrapper=dict(optimizer=dict(type=...))")
        optim = build_optim_wrappers(cfg["optim_wrapper"], model, device=setup.device, amp=setup.amp,
                                     lr_scale=prepared.lr_scale(setup.world_size, loader.batch_size))
        schedulers = SchedulerSet(cfg.get("param_scheduler"), optim, loop.by_epoch, iters_per_epoch=len(loader))
        policy = CheckpointPolicy(**prepared.checkpoint_options(setup.work_dir, loop.by_epoch))
        run = RunContext(cfg=cfg, work_dir=setup.work_dir, mode="train", rank=setup.rank,
                         world_size=setup.world_size, device=setup.device, model=model, ema=ema, optim=optim,
                         logger=setup.logger)
        custom_hooks = _register_custom_hooks(prepared, plugins)
        resume_run_id = start.tracking_run_id
        if resume is not None:
            _restore(resume, run, model, ema, optim, schedulers, policy, ddp_originals, setup)
            plugins.hook.mgx_after_load_checkpoint(run=run, checkpoint=resume[1])
        validator = Validator(eval_sets, model=model, ema=ema, device=setup.device, amp=setup.amp,
                              seed=setup.seed, work_dir=setup.work_dir) if eval_sets else None
        preflight.check_run(model, eval_sets=eval_sets, evaluator_field="val_evaluator",
                            eval_loader_field="val_dataloader", loader_fields={"train_dataloader": loader},
                            save_best=policy.save_best)
        directions = declared_directions([eval_set.evaluator for eval_set in eval_sets])
        note = policy.use_declared_directions(directions)
        if note and setup.rank == 0:
            setup.logger.warning(note)
        if setup.rank == 0:  # after the pre-flight: a refused config leaves the work_dir's current training as it was
            _record_run(setup.work_dir, start, options, resume_run_id)
        tracker = run.tracker = start_tracker(
            cfg, options, setup, plugins, resume_run_id, run.iteration if resume_run_id else None, config_text,
            "train", hosts, on_run_opened=lambda run_id: _record_run(setup.work_dir, start, options, run_id))
        record_directions(tracker, directions)
        if tracker is not None:
            tracker.log_artifact(setup.log_path, "logs")
        trainer = Trainer(run, hooks=plugins.hook, loader=loader, optim=optim, schedulers=schedulers, ema=ema,
                          validator=validator, val_loop=val_loop, policy=policy, ddp_originals=ddp_originals,
                          by_epoch=loop.by_epoch,
                          log_interval=prepared.log_interval, config_text=config_text,
                          extra_meta={"tracking_run_id": resume_run_id, "seed": setup.seed,
                                      "run_token": start.run_token}, acceleration=acceleration)
        if resume is not None:
            trainer.restore_session_state(start.state.session)
        preemption.install_handlers()
        plugins.hook.mgx_before_run(run=run)
        trainer.progress = Progress(loop.total_iters(trainer.iters_per_epoch), run.iteration, setup.logger,
                                    enabled=setup.rank == 0)
        try:
            status = trainer.run_loop(loop)
        finally:
            trainer.progress.close()
        if status == "PREEMPTED":
            _preempt(trainer, run, setup)
            # Under Slurm the job is requeued and resumes into the same MLflow run; elsewhere a
            # stop signal ends the run as KILLED (its checkpoint still lets --resume continue).
            status = "PREEMPTED" if os.environ.get("SLURM_JOB_ID") else "KILLED"
        else:
            trainer.save_checkpoint("last")
        result = _summary(run, trainer, status, policy)
        if status == "FINISHED" and tracker is not None:
            from mgx.core.tracking.model_registry import evaluates_ema, log_model_at_end

            log_model_at_end(tracker, dict(cfg["model"]), result.best_checkpoint or result.last_checkpoint,
                             evaluates_ema(eval_sets), setup.logger)
        return result
    except BaseException as exc:
        status = _status_of(exc)
        if isinstance(exc, KeyboardInterrupt) and run is not None:
            setup.logger.warning(f"interrupted at iteration {run.iteration}")
        raise
    finally:
        try:
            if tracker is not None:
                tracker.log_artifact(setup.log_path, "logs")
            _finish(plugins, custom_hooks, run, status, tracker, prepared)
        finally:
            preemption.uninstall_handlers()
            distributed.destroy_distributed(wait_for_peers=status == "FINISHED")
            close_run_logger()


def _close_left_open_run(cfg: Config, options: RunOptions, setup: _Setup, plugins: Any, start: StartPoint) -> None:
    """The training had finished, but was stopped before it closed its MLflow run: close it now."""
    from mgx.core.tracking.model_registry import evaluates_ema

    iteration = start.meta.iteration
    setup.logger.warning(f"--resume: the training in {setup.work_dir} finished at iteration {iteration}, but it was "
                         f"stopped before it closed its MLflow run {start.tracking_run_id}: uploading its final "
                         "checkpoints, logging its model and ending the run FINISHED (nothing is trained)")
    tracker = start_tracker(cfg, options, setup, plugins, start.tracking_run_id, iteration, dump_config(cfg), "train")
    if tracker is None:
        return
    try:
        close_finished_training(
            tracker, setup.work_dir, start.run_token, dict(cfg["model"]),
            lambda: evaluates_ema(build_eval_sets(cfg, "val_dataloader", "val_evaluator", setup.seed, setup.device)),
            setup.logger)
        tracker.log_artifact(setup.log_path, "logs")
    finally:
        tracker.finish("FINISHED")


def _record_run(work_dir: Path, start: StartPoint, options: RunOptions, tracking_run_id: str | None) -> None:
    """(Re)write the work_dir's run record: this training's token and, once it exists, its MLflow run id."""
    write_run_record(work_dir, start.run_token, tracking_run_id, config=str(options.config_path))


def _restore(resume: tuple[Path, dict], run: RunContext, model: Any, ema: Any, optim: Any, schedulers: Any,
             policy: CheckpointPolicy, ddp_originals: dict, setup: _Setup) -> None:
    from mgx.core.distributed.ddp import plain_children

    path, loaded = resume
    state = CheckpointState.from_dict(loaded, str(path))
    with plain_children(model, ddp_originals):
        state.restore(model=model, ema=ema, optim=optim, schedulers=schedulers, rank=setup.rank, source=str(path))
    meta = state.meta
    run.iteration, run.epoch = meta.iteration, meta.epoch
    policy.best_score = meta.best_score
    if meta.best_path:
        policy.best_path = setup.work_dir / meta.best_path
    if setup.rank == 0:
        drop_stale_best(setup.work_dir, meta.run_token, policy)
    setup.logger.info(f"resumed from {path} at iteration {run.iteration} (epoch {run.epoch})")


def _preempt(trainer: Trainer, run: RunContext, setup: _Setup) -> None:
    trainer.save_checkpoint("preempt")
    why = preemption.reason() or "a stop signal"
    setup.logger.warning(f"stopped by {why} at iteration {run.iteration}; checkpoint saved, resume with --resume")
    if run.is_main:
        preemption.requeue_if_slurm()


def _summary(run: RunContext, trainer: Trainer, status: str, policy: CheckpointPolicy) -> RunResult:
    from mgx.core.engine.checkpoint import read_marker

    best_path = policy.best_path if policy.best_path is not None and policy.best_path.is_file() else None
    best = ((policy.save_best, policy.best_score) if policy.save_best and policy.best_score is not None
            and best_path is not None else None)
    last = read_marker(run.work_dir)
    last = last if last is not None and last.is_file() else None
    result = RunResult(status=status, work_dir=run.work_dir, iteration=run.iteration, metrics=run.latest_metrics,
                       best=best, last_checkpoint=last, best_checkpoint=best_path,
                       tracking_run_id=run.tracker.run_id if run.tracker is not None else None)
    if run.is_main:
        lines = [f"training {status.lower()} at iteration {run.iteration}"]
        if best:
            lines.append(f"best {best[0]}: {best[1]:.4f} ({policy.best_path})")
        if run.latest_metrics:
            lines.append(f"last validation: {format_metrics(run.latest_metrics)}")
        lines.append(f"checkpoints in {run.work_dir} (latest: {result.last_checkpoint.name if result.last_checkpoint else '-'})")
        if result.tracking_run_id:
            lines.append(f"MLflow run {result.tracking_run_id}")
        for line in lines:
            run.logger.info(line)
    return result


# -- test ----------------------------------------------------------------------------


def test(cfg: Config, checkpoint: Path, options: RunOptions, plugins: Any) -> RunResult:
    """Evaluate ``checkpoint`` with ``test_dataloader``/``test_evaluator`` (falls back to val_*)."""
    check_tracking_uri(cfg, options)
    prepared = prepare_run(cfg, plugins, mode="test")
    setup = _Setup(cfg, options, "test", prepared)
    setup.apply_seed()
    run: RunContext | None = None
    tracker = None
    custom_hooks: list = []
    status = "FAILED"
    try:
        test_loop = eval_loop_from_cfg(cfg.get("test_cfg"), "test_cfg", build)
        loaded = load_checkpoint(checkpoint)
        state = CheckpointState.from_dict(loaded, str(checkpoint))
        model = setup.build_model(cfg)
        load_model_weights(model, state.model, str(checkpoint))
        ema = None
        if state.ema is not None and cfg.get("ema_config"):
            ema = ExponentialMovingAverage(model, **dict(cfg["ema_config"]))
            ema.load_state_dict(state.ema)
        accelerate(model, ema, cfg, setup.logger)  # compile, channels_last
        loader_key, evaluator_key = "test_dataloader", "test_evaluator"
        if not cfg.get("test_evaluator") and cfg.get("val_evaluator"):
            loader_key, evaluator_key = "val_dataloader", "val_evaluator"
            setup.logger.info("no test_evaluator in the config: evaluating with val_dataloader/val_evaluator")
        eval_sets = build_eval_sets(cfg, loader_key, evaluator_key, setup.seed, setup.device)
        if not eval_sets:
            raise ConfigError(f"config {cfg.filename} has no test_evaluator (or val_evaluator): nothing to evaluate")
        meta = state.meta
        run = RunContext(cfg=cfg, work_dir=setup.work_dir, mode="test", rank=setup.rank,
                         world_size=setup.world_size, device=setup.device, model=model, ema=ema,
                         iteration=meta.iteration, epoch=meta.epoch, logger=setup.logger)
        custom_hooks = _register_custom_hooks(prepared, plugins)
        plugins.hook.mgx_after_load_checkpoint(run=run, checkpoint=loaded)
        preflight.check_run(model, eval_sets=eval_sets, evaluator_field=evaluator_key, eval_loader_field=loader_key)
        config_text = dump_config(cfg)
        tracker = run.tracker = start_tracker(cfg, options, setup, plugins, None, None, config_text, "test")
        record_directions(tracker, declared_directions([eval_set.evaluator for eval_set in eval_sets]))
        if tracker is not None and meta.tracking_run_id:
            tracker.set_tags({"mgx.train_run_id": meta.tracking_run_id, "mgx.checkpoint": str(checkpoint)})
        plugins.hook.mgx_before_run(run=run)
        plugins.hook.mgx_before_test(run=run)
        validator = Validator(eval_sets, model=model, ema=ema, device=setup.device, amp=setup.amp, seed=setup.seed,
                              work_dir=setup.work_dir)
        started = time.perf_counter()
        with evaluation_progress("Test", setup.logger if run.is_main else None):
            metrics = test_loop.run(validator)
        run.latest_metrics = metrics
        plugins.hook.mgx_after_test(run=run, metrics=metrics)
        if run.is_main:
            setup.logger.info(f"Test  {format_metrics(metrics)}  ({time.perf_counter() - started:.1f} s)")
            out = options.out or setup.work_dir / "test_results.json"
            payload = {"checkpoint": str(checkpoint), "iteration": run.iteration, "metrics": metrics}
            atomic_write_bytes(Path(out), lambda f: f.write(json.dumps(payload, indent=2).encode()))
            setup.logger.info(f"results written to {out}")
            if tracker is not None:
                tracker.log_metrics(metrics, step=run.iteration)
                tracker.log_artifact(Path(out), "test")
        status = "FINISHED"
        return RunResult(status=status, work_dir=setup.work_dir, iteration=run.iteration, metrics=metrics,
                         tracking_run_id=tracker.run_id if tracker is not None else None)
    except BaseException as exc:
        status = _status_of(exc)
        raise
    finally:
        try:
            _finish(plugins, custom_hooks, run, status, tracker, prepared)
        finally:
            distributed.destroy_distributed(wait_for_peers=status == "FINISHED")
            close_run_logger()


__all__ = ["RunOptions", "RunResult", "train", "test", "resolve_work_dir", "MgxError"]
