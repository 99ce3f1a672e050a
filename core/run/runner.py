"""``train`` and ``test``: wire config, plugins, data, model, optimizers, tracking and loops.

This module only assembles parts that live in their own modules (loops,
training session, validation, checkpoint, optim, data, distributed, tracking).
"""
from __future__ import annotations

import json
import logging
import os
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
from mgx.core.engine.checkpoint_state import CheckpointMeta, CheckpointState
from mgx.core.config.loader import Config, dump_config, to_plain
from mgx.core.run.context import RunContext
from mgx.core.engine.data import build_dataloader
from mgx.core.distributed.ddp import wrap_trainable_children
from mgx.core.distributed.fsdp import shard_trainable_children
from mgx.core.engine.ema import ExponentialMovingAverage, run_ema_config
from mgx.core.engine.speed import accelerate
from mgx.core.errors import ConfigError, MgxError
from mgx.core.config.evaluators import evaluator_entries
from mgx.core.evaluation.evaluator import Evaluator, declared_directions, format_metrics
from mgx.core.engine.loops import EvalLoop, TrainLoop, eval_loop_from_cfg, train_loop_from_cfg
from mgx.core.engine.optim import SchedulerSet, build_optim_wrappers
from mgx.core.run.progress import Progress, evaluation_progress
from mgx.core.registry import build
from mgx.core.run.resume import StartPoint, already_finished, complete_final_checkpoint, start_point
from mgx.core.run.record import write_run_record
from mgx.core.run.closing import close_finished_training, run_left_open
from mgx.core.run.session import RunSession
from mgx.core.run.settings import RunOptions, resolve_work_dir
from mgx.core.run.tracking_setup import record_directions, start_tracker
from mgx.core.engine.training import Trainer, drop_stale_best
from mgx.core.evaluation.validation import EvalSet, Validator

log = logging.getLogger("mgx")


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


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def build_eval_sets(cfg: Config, loader_key: str, evaluator_key: str, seed: int, device: Any) -> list[EvalSet]:
    """Dataloader/evaluator pairs: one, or the same number of each (MultiValLoop), or one evaluator for all.

    The evaluator forms are MMagic's (``mgx.core.config.evaluators``): a list of metric dicts is one
    evaluator, a list of evaluators is one per dataloader."""
    loaders = _as_list(cfg.get(loader_key))
    entries = evaluator_entries(cfg.get(evaluator_key), evaluator_key)
    if not loaders and not entries:
        return []
    if not entries:
        raise ConfigError(f"{loader_key} is set but {evaluator_key} is not: add {evaluator_key}=dict(type='Evaluator', metrics=[...])")
    problems = [entry.problem for entry in entries if entry.problem]
    if problems:
        raise ConfigError("; ".join(problems))
    if len(entries) == 1 and len(loaders) > 1:
        entries = entries * len(loaders)
    if loaders and len(loaders) != len(entries):
        raise ConfigError(f"{loader_key} has {len(loaders)} entries but {evaluator_key} has {len(entries)} evaluators: "
                          f"give one evaluator (a dict, or a list of metric dicts), or one per dataloader")
    sets = []
    for index, entry in enumerate(entries):
        loader_cfg = loaders[index] if loaders else None
        loader = (build_dataloader(loader_cfg, field=f"{loader_key}[{index}]" if len(loaders) > 1 else loader_key,
                                   seed=seed, training=False, device=device) if loader_cfg else None)
        # the pre-flight reports the metrics' problems together with every other one
        evaluator = Evaluator(entry.metrics, field=entry.field, defer_problems=True, paths=entry.metric_paths)
        sets.append(EvalSet(loader, evaluator, to_plain(loader_cfg)))
    return sets


# -- train ---------------------------------------------------------------------------


def train(cfg: Config, options: RunOptions, plugins: Any) -> RunResult:
    """Train per ``cfg``; returns how it ended. Raises MgxError subclasses for user-fixable problems."""
    with RunSession(cfg, options, plugins, "train") as session:
        if session.rank == 0:
            clean_stale_temporaries(session.work_dir)
        start = start_point(session.settings.resume, session.work_dir, session.logger)
        session.apply_seed(start.meta.seed if start.checkpoint is not None else None)
        loop = train_loop_from_cfg(cfg.get("train_cfg"), build)
        val_loop = eval_loop_from_cfg(cfg.get("val_cfg"), "val_cfg", build)
        finished = already_finished(start, loop, session.work_dir)
        if finished is not None:  # nothing to train: leave the work_dir's files and the MLflow run as they are
            complete_final_checkpoint(start, session.work_dir, _save_last(cfg), session.logger)
            if session.rank == 0 and run_left_open(session.settings.tracking, start.tracking_run_id):
                _close_left_open_run(cfg, session, start)
            else:
                session.logger.warning(finished)
            return RunResult(status="FINISHED", work_dir=session.work_dir,
                             iteration=start.meta.iteration, tracking_run_id=start.tracking_run_id)
        trainer, eval_sets = _prepare_training(cfg, session, loop, val_loop, start)
        session.status = _run_loop(trainer, loop, session)
        result = _summary(trainer.run, trainer, session.status, trainer.policy)
        if session.status == "FINISHED" and session.tracker is not None:
            from mgx.core.tracking.model_registry import evaluates_ema, log_model_at_end

            log_model_at_end(session.tracker, dict(cfg["model"]), result.best_checkpoint or result.last_checkpoint,
                             evaluates_ema(eval_sets), session.logger)
        return result


def _save_last(cfg: Config) -> bool:
    """``default_hooks.checkpoint.save_last`` (default True): whether a training ends with its final file."""
    hooks = cfg.get("default_hooks") or {}
    checkpoint = hooks.get("checkpoint") if isinstance(hooks, dict) else None
    return bool(checkpoint.get("save_last", True)) if isinstance(checkpoint, dict) else True


def _prepare_training(cfg: Config, session: RunSession, loop: TrainLoop, val_loop: EvalLoop,
                      start: StartPoint) -> tuple[Trainer, list]:
    """Everything a training needs, built, restored from ``start`` and checked, with its MLflow run open."""
    setup, prepared, plugins = session, session.prepared, session.plugins
    resume = start.checkpoint
    hosts = distributed.all_gather_object(socket.gethostname())
    config_text = dump_config(cfg)
    if setup.rank == 0:
        atomic_write_bytes(setup.work_dir / session.settings.config_path.name,
                           lambda f: f.write(config_text.encode()))
    model = setup.build_model(cfg)
    if cfg.get("load_from") and resume is None:
        load_model_weights(model, weights_of(load_checkpoint(cfg["load_from"])), str(cfg["load_from"]))
        setup.logger.info(f"loaded weights from {cfg['load_from']}")
    ema = ExponentialMovingAverage(model, **run_ema_config(cfg)) if run_ema_config(cfg) else None
    acceleration = accelerate(model, ema, cfg, session.logger)  # compile, channels_last
    if "train_dataloader" not in cfg:
        raise ConfigError(f"config {cfg.filename} has no train_dataloader")
    loader = build_dataloader(cfg["train_dataloader"], field="train_dataloader", seed=setup.seed,
                              training=True, infinite=not loop.by_epoch, device=setup.device)
    eval_sets = build_eval_sets(cfg, "val_dataloader", "val_evaluator", setup.seed, setup.device)
    sharded = prepared.fsdp_options  # None: not sharded
    ddp_originals = {}
    if sharded is not None and setup.world_size > 1:
        shard_trainable_children(model, **sharded)
    elif setup.world_size > 1:
        ddp_originals = wrap_trainable_children(model, setup.device, **prepared.ddp_options)
    if "optim_wrapper" not in cfg:
        raise ConfigError(f"config {cfg.filename} has no optim_wrapper=dict(optimizer=dict(type=...))")
    optim = build_optim_wrappers(cfg["optim_wrapper"], model, device=setup.device, amp=setup.amp,
                                 lr_scale=prepared.lr_scale(setup.world_size, loader.batch_size))
    schedulers = SchedulerSet(cfg.get("param_scheduler"), optim, loop.by_epoch, iters_per_epoch=len(loader),
                              hook=(cfg.get("default_hooks") or {}).get("param_scheduler"))
    policy = CheckpointPolicy(**prepared.checkpoint_options(setup.work_dir, loop.by_epoch))
    run = RunContext(cfg=cfg, work_dir=setup.work_dir, mode="train", rank=setup.rank,
                     world_size=setup.world_size, device=setup.device, model=model, ema=ema, optim=optim,
                     logger=setup.logger)
    session.begin(run)
    resume_run_id = start.tracking_run_id
    if resume is not None:
        _restore(resume, run, model, ema, optim, schedulers, policy, ddp_originals, setup)
        plugins.hook.mgx_after_load_checkpoint(run=run, checkpoint=resume[1])
    validator = Validator(eval_sets, model=model, ema=ema, device=setup.device, amp=setup.amp,
                          seed=setup.seed, work_dir=setup.work_dir) if eval_sets else None
    _resolve_save_best(policy, eval_sets, session.logger if setup.rank == 0 else None)
    preflight.check_run(model, eval_sets=eval_sets, evaluator_field="val_evaluator",
                        eval_loader_field="val_dataloader", loader_fields={"train_dataloader": loader},
                        save_best=policy.save_best)
    _open_training_run(session, start, policy, eval_sets, config_text, hosts)
    trainer = Trainer(run, hooks=plugins.hook, loader=loader, optim=optim, schedulers=schedulers, ema=ema,
                      validator=validator, val_loop=val_loop, policy=policy, ddp_originals=ddp_originals,
                      by_epoch=loop.by_epoch,
                      log_interval=prepared.log_interval, config_text=config_text,
                      extra_meta={"tracking_run_id": resume_run_id, "seed": setup.seed,
                                  "run_token": start.run_token}, acceleration=acceleration, sharded=sharded)
    if resume is not None:
        trainer.restore_session_state(start.state.session)
    return trainer, eval_sets


def _resolve_save_best(policy: CheckpointPolicy, eval_sets: list, logger: Any) -> None:
    """``save_best='PSNR'`` with metrics logging ``McMaster/PSNR`` keeps that key (see
    ``preflight.resolve_save_best``), and says so."""
    resolved = preflight.resolve_save_best(policy.save_best, eval_sets)
    if resolved != policy.save_best:
        if logger is not None:
            why = "the first metric key (MMEngine's 'auto')" if policy.save_best == "auto" else \
                f"the only key ending in '/{policy.save_best}'"
            logger.info(f"default_hooks.checkpoint.save_best={policy.save_best!r} is no metric key; it is taken "
                        f"as {resolved!r}, {why}")
        policy.save_best = resolved


def _open_training_run(session: RunSession, start: StartPoint, policy: CheckpointPolicy, eval_sets: list,
                       config_text: str, hosts: list[str]) -> None:
    """After the pre-flight (a refused config leaves the work_dir's current training as it was):
    the run record, then the MLflow run (resumed when the checkpoint names one)."""
    directions = declared_directions([eval_set.evaluator for eval_set in eval_sets])
    note = policy.use_declared_directions(directions)
    if note and session.rank == 0:
        session.logger.warning(note)
    resume_run_id = start.tracking_run_id
    if session.rank == 0:
        _record_run(session, start, resume_run_id)
    tracker = session.start_tracker(resume_run_id, session.run.iteration if resume_run_id else None, config_text,
                                    hosts, on_run_opened=lambda run_id: _record_run(session, start, run_id))
    record_directions(tracker, directions)
    if tracker is not None:
        tracker.log_artifact(session.log_path, "logs")


def _run_loop(trainer: Trainer, loop: TrainLoop, session: RunSession) -> str:
    """Run the train loop to its end or to a stop signal; how it ended (a final checkpoint saved either way)."""
    run = trainer.run
    preemption.install_handlers()
    session.plugins.hook.mgx_before_run(run=run)
    trainer.progress = Progress(loop.total_iters(trainer.iters_per_epoch), run.iteration, session.logger,
                                enabled=session.rank == 0)
    try:
        status = trainer.run_loop(loop)
    finally:
        trainer.progress.close()
    if status == "PREEMPTED":
        _preempt(trainer, run, session)
        # Under Slurm the job is requeued and resumes into the same MLflow run; elsewhere a
        # stop signal ends the run as KILLED (its checkpoint still lets --resume continue).
        return "PREEMPTED" if os.environ.get("SLURM_JOB_ID") else "KILLED"
    trainer.save_checkpoint("last")
    return status


def _close_left_open_run(cfg: Config, session: RunSession, start: StartPoint) -> None:
    """The training had finished, but was stopped before it closed its MLflow run: close it now."""
    from mgx.core.tracking.model_registry import evaluates_ema

    iteration = start.meta.iteration
    session.logger.warning(f"--resume: the training in {session.work_dir} finished at iteration {iteration}, but it "
                           f"was stopped before it closed its MLflow run {start.tracking_run_id}: uploading its final "
                           "checkpoints, logging its model and ending the run FINISHED (nothing is trained)")
    # its own tracker, not the session's: the training it closes did finish, whatever happens here
    tracker = start_tracker(cfg, session.settings, session.world_size, session.work_dir, session.plugins,
                            start.tracking_run_id, iteration, dump_config(cfg), "train")
    if tracker is None:
        return
    try:
        close_finished_training(
            tracker, session.work_dir, start.run_token, dict(cfg["model"]),
            lambda: evaluates_ema(build_eval_sets(cfg, "val_dataloader", "val_evaluator", session.seed,
                                                  session.device)),
            session.logger)
        tracker.log_artifact(session.log_path, "logs")
    finally:
        tracker.finish("FINISHED")


def _record_run(session: RunSession, start: StartPoint, tracking_run_id: str | None) -> None:
    """(Re)write the work_dir's run record: this training's token and, once it exists, its MLflow run id."""
    write_run_record(session.work_dir, start.run_token, tracking_run_id, config=str(session.settings.config_path))


def _restore(resume: tuple[Path, dict], run: RunContext, model: Any, ema: Any, optim: Any, schedulers: Any,
             policy: CheckpointPolicy, ddp_originals: dict, setup: RunSession) -> None:
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


def _preempt(trainer: Trainer, run: RunContext, setup: RunSession) -> None:
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
            from mgx.core.tracking.ui_view import run_announcement

            lines.extend(run_announcement(run.tracker))
        for line in lines:
            run.logger.info(line)
    return result


# -- test ----------------------------------------------------------------------------


def _tested_weights(cfg: Config, checkpoint: Path | None, model: Any) -> tuple[dict | None, CheckpointMeta, Any]:
    """(loaded checkpoint, its meta, EMA) for ``mgx run test``. Without a checkpoint, the config's
    ``load_from`` is tested (as MMagic's test does), else only a model whose weights all come from its
    config (``model.weights_from_config``: a pretrained pipeline)."""
    if checkpoint is None and cfg.get("load_from"):
        checkpoint = Path(str(cfg["load_from"])).expanduser()
    if checkpoint is None:
        if not getattr(model, "weights_from_config", False):
            raise ConfigError(f"mgx run test {cfg.filename}: give a CHECKPOINT (or load_from=); "
                              f"{type(model).__name__}'s weights come from training, not from its config")
        return None, CheckpointMeta(), None
    loaded = load_checkpoint(checkpoint)
    state = CheckpointState.from_dict(loaded, str(checkpoint))
    load_model_weights(model, state.model, str(checkpoint))
    ema = None
    if state.ema is not None and run_ema_config(cfg):
        ema = ExponentialMovingAverage(model, **run_ema_config(cfg))
        ema.load_state_dict(state.ema)
    return loaded, state.meta, ema


def test(cfg: Config, checkpoint: Path | None, options: RunOptions, plugins: Any) -> RunResult:
    """Evaluate ``checkpoint`` with ``test_dataloader``/``test_evaluator`` (falls back to val_*)."""
    with RunSession(cfg, options, plugins, "test") as session:
        session.apply_seed()
        test_loop = eval_loop_from_cfg(cfg.get("test_cfg"), "test_cfg", build)
        model = session.build_model(cfg)
        loaded, meta, ema = _tested_weights(cfg, checkpoint, model)
        accelerate(model, ema, cfg, session.logger)  # compile, channels_last
        loader_key, evaluator_key = "test_dataloader", "test_evaluator"
        if not cfg.get("test_evaluator") and cfg.get("val_evaluator"):
            loader_key, evaluator_key = "val_dataloader", "val_evaluator"
            session.logger.info("no test_evaluator in the config: evaluating with val_dataloader/val_evaluator")
        eval_sets = build_eval_sets(cfg, loader_key, evaluator_key, session.seed, session.device)
        # a text-to-image model with prompts needs no evaluator: the test samples its prompt grids
        if not eval_sets and not callable(getattr(model, "prompt_grids", None)):
            raise ConfigError(f"config {cfg.filename} has no test_evaluator (or val_evaluator): nothing to evaluate")
        run = RunContext(cfg=cfg, work_dir=session.work_dir, mode="test", rank=session.rank,
                         world_size=session.world_size, device=session.device, model=model, ema=ema,
                         iteration=meta.iteration, epoch=meta.epoch, logger=session.logger)
        session.begin(run)
        if loaded is not None:
            plugins.hook.mgx_after_load_checkpoint(run=run, checkpoint=loaded)
        preflight.check_run(model, eval_sets=eval_sets, evaluator_field=evaluator_key, eval_loader_field=loader_key)
        tracker = session.start_tracker(None, None, dump_config(cfg))
        record_directions(tracker, declared_directions([eval_set.evaluator for eval_set in eval_sets]))
        if tracker is not None and meta.tracking_run_id:
            tracker.set_tags({"mgx.train_run_id": meta.tracking_run_id, "mgx.checkpoint": str(checkpoint)})
        metrics = _evaluate(session, test_loop, eval_sets, model, ema)
        if run.is_main:
            _write_test_results(session, checkpoint, metrics)
        return RunResult(status="FINISHED", work_dir=session.work_dir, iteration=run.iteration, metrics=metrics,
                         tracking_run_id=tracker.run_id if tracker is not None else None)


def _evaluate(session: RunSession, test_loop: EvalLoop, eval_sets: list[EvalSet], model: Any, ema: Any) -> dict:
    """The test pass, between the before/after test hooks."""
    run, hooks = session.run, session.plugins.hook
    hooks.mgx_before_run(run=run)
    hooks.mgx_before_test(run=run)
    validator = Validator(eval_sets, model=model, ema=ema, device=session.device, amp=session.amp,
                          seed=session.seed, work_dir=session.work_dir)
    started = time.perf_counter()
    with evaluation_progress("Test", session.logger if run.is_main else None):
        metrics = test_loop.run(validator)
    run.latest_metrics = metrics
    hooks.mgx_after_test(run=run, metrics=metrics)
    if run.is_main:
        session.logger.info(f"Test  {format_metrics(metrics)}  ({time.perf_counter() - started:.1f} s)")
        validator.log_prompt_samples(session.work_dir / "samples", run.iteration, session.tracker, session.logger)
        _save_test_samples(session, validator, model)
    return metrics


def _save_test_samples(session: RunSession, validator: Validator, model: Any) -> None:
    """A restoration model's test pass shows its first batch as in validation: the grid (MLflow image
    'samples') and, for clips, the GIF of the first clip (artifact under samples/). A generative model
    shows its sample grid only when it says it is evaluated rather than trained (``samples_at_test``)."""
    if callable(getattr(model, "prompt_grids", None)):
        return
    if hasattr(model, "sample") and not getattr(model, "samples_at_test", False):
        return  # generative models: their grids come from training's validation (sampling costs time)
    grid = validator.save_sample_grid(session.work_dir / "samples" / "test.png")
    if grid is None:
        return
    session.logger.info(f"sample grid {grid}")
    if session.tracker is not None:
        session.tracker.log_image(grid, key="samples", step=session.run.iteration)
        if validator.sample_animation is not None:
            session.tracker.log_artifact(validator.sample_animation, "samples")


def _write_test_results(session: RunSession, checkpoint: Path | None, metrics: dict) -> None:
    """The metrics as JSON (``--out``, else work_dir/test_results.json), and in MLflow."""
    out = session.settings.out or session.work_dir / "test_results.json"
    payload = {"checkpoint": str(checkpoint) if checkpoint else None, "iteration": session.run.iteration, "metrics": metrics}
    atomic_write_bytes(Path(out), lambda f: f.write(json.dumps(payload, indent=2).encode()))
    session.logger.info(f"results written to {out}")
    if session.tracker is not None:
        session.tracker.log_metrics(metrics, step=session.run.iteration)
        session.tracker.log_artifact(Path(out), "test")
        from mgx.core.tracking.ui_view import run_announcement

        for line in run_announcement(session.tracker):
            session.logger.info(line)


__all__ = ["RunOptions", "RunResult", "train", "test", "resolve_work_dir", "MgxError"]
