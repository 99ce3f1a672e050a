"""The training session a loop drives: one step, interval logging, validation,
checkpoints and the stop flag. Built and wired by ``mgx.core.run.runner``."""
from __future__ import annotations

import contextlib
import math
import re
import time
from pathlib import Path
from typing import Any, Iterator

from mgx.core import distributed

from mgx.core.distributed import preemption
from mgx.core.engine.checkpoint import CheckpointPolicy, remove_checkpoint, save_checkpoint, write_marker
from mgx.core.engine.checkpoint_state import CheckpointMeta, CheckpointState, SessionState
from mgx.core.run.context import RunContext
from mgx.core.engine.data import to_device
from mgx.core.distributed.ddp import plain_children
from mgx.core.errors import ConfigError, MgxError
from mgx.core.evaluation.evaluator import format_metrics
from mgx.core.run.progress import Progress, evaluation_progress
from mgx.core.run.record import checkpoint_meta, checkpoints_of_run
from mgx.core.engine.loops import EvalLoop, ValLoop
from mgx.core.evaluation.validation import ValidationStopped, Validator
from mgx.core.plugins import per_step_caller

MAX_UNCHECKED_STEPS = 1000  # losses held as tensors before they are read at the latest
STOP_CHECK_EVERY = 10  # iterations between cross-rank checks of the preemption flag
# why a checkpoint was written -> the kind the tracker's log_checkpoints policy knows
TRACKED_KIND = {"interval": "periodic", "best": "best", "last": "last", "preempt": "last"}


def tracked_names(values: dict) -> dict:
    """Training values under their MLflow names: ``loss_disc`` -> ``train/loss_disc``; learning
    rates (``lr``, ``lr/generator``) and names that already have a namespace stay."""
    return {key if "/" in key or key.startswith("lr") else f"train/{key}": value for key, value in values.items()}


class NonFiniteLoss(MgxError):
    """A loss became NaN or Inf: training stops, the last good checkpoint stays."""


def _detached_losses(outputs: Any, model_name: str) -> dict:
    """``train_step``'s dict as detached float 0-dim tensors (numbers become CPU tensors)."""
    import torch

    if not isinstance(outputs, dict):
        raise MgxError(f"{model_name}.train_step must return a dict of scalar losses, got {type(outputs).__name__}")
    losses = {}
    for key, value in outputs.items():
        if isinstance(value, torch.Tensor):
            if value.numel() != 1:
                raise MgxError(f"{model_name}.train_step returned {key!r} with shape {tuple(value.shape)}: "
                               f"losses must be scalars (reduce with .mean())")
            value = value.detach()
            if value.dim():
                value = value.reshape(())
            losses[key] = value if value.dtype == torch.float32 else value.float()
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            losses[key] = torch.tensor(float(value))
        else:
            raise MgxError(f"{model_name}.train_step returned {key!r}={value!r:.100}: losses must be numbers "
                           f"or scalar tensors")
    return losses


class Trainer:
    def __init__(self, run: RunContext, *, hooks: Any, loader: Any, optim: Any, schedulers: Any, ema: Any,
                 validator: Validator | None, val_loop: EvalLoop | None = None, policy: CheckpointPolicy, ddp_originals: dict, by_epoch: bool,
                 log_interval: int, config_text: str, extra_meta: dict, acceleration: Any = None,
                 sharded: dict | None = None) -> None:
        self.run = run
        self.hooks = hooks
        self.loader = loader
        self.optim = optim
        self.schedulers = schedulers
        self.ema = ema
        self.validator = validator
        self.val_loop = val_loop or ValLoop()
        self.policy = policy
        self.ddp_originals = ddp_originals
        self.by_epoch = by_epoch
        self.log_interval = max(1, int(log_interval))
        self.config_text = config_text
        self.extra_meta = extra_meta
        # FSDP's options: weights and optimizer states are saved through DCP, beside the file
        self.sharded = sharded
        self.acceleration = acceleration  # speed.Acceleration: compiled networks, batches' memory format
        self._memory_format = acceleration.memory_format if acceleration is not None else None
        # batches come from the loader on the CPU: moving them to a CPU device is a no-op to skip
        self._move_batches = run.device is None or str(run.device) != "cpu" or self._memory_format is not None
        self._iter_hooks = self._implemented_iter_hooks()  # refreshed when the loop starts
        self.batch_size = loader.batch_size
        self.iters_per_epoch = len(loader)
        self.samples_per_epoch = len(loader.sampler)
        self.progress: Progress | None = None
        self._window: dict[str, float] = {}
        self._unchecked: list[dict] = []  # per step: losses as 0-dim tensors, not yet checked or logged
        self._window_count = 0
        self._step_time = 0.0
        self._data_time = 0.0
        self._last_saved_iteration = -1
        self._last_saved_path: Path | None = None
        self._validated_at = -1
        self._own_periodic: list[Path] | None = None  # this training's periodic checkpoints, oldest first
        self.validation_pending = False  # a stop signal interrupted the validation of this iteration

    # -- the loop and what a checkpoint carries besides weights ---------------------

    def run_loop(self, loop: Any) -> str:
        """Run ``loop``; "PREEMPTED" also when a stop signal interrupts a validation pass. A
        validation that a stop interrupted before the resume is done first."""
        self._iter_hooks = self._implemented_iter_hooks()
        try:
            if self.validation_pending:
                self.validate()
            return loop.run(self)
        except ValidationStopped:
            return "PREEMPTED"

    def _implemented_iter_hooks(self) -> tuple[Any, Any]:
        """The per-iteration hook callers, None for one no plugin implements (a call per step saved)."""
        return (per_step_caller(self.hooks.mgx_before_train_iter),
                per_step_caller(self.hooks.mgx_after_train_iter))

    def session_state(self) -> SessionState:
        """The logging window (losses summed since the last log line) and whether a validation is owed:
        with them a resumed run logs exactly the values the uninterrupted run logs."""
        self.check_losses()
        return SessionState(window_sums=dict(self._window), window_count=self._window_count,
                            step_time=self._step_time, data_time=self._data_time,
                            validation_pending=self.validation_pending)

    def restore_session_state(self, session: SessionState) -> None:
        self._window = dict(session.window_sums)
        self._window_count = session.window_count
        self._step_time = session.step_time
        self._data_time = session.data_time
        self.validation_pending = session.validation_pending

    # -- data ------------------------------------------------------------------

    def batches(self, epoch: int | None, skip_iterations: int = 0) -> Iterator[dict]:
        """Batches from where the run stands: the sampler seeks, no data is replayed."""
        sampler = self.loader.sampler
        if epoch is None:
            sampler.seek(self.run.iteration * self.batch_size)
        else:
            sampler.set_epoch(epoch)
            sampler.seek(skip_iterations * self.batch_size)
            self.hooks.mgx_before_train_epoch(run=self.run, epoch=epoch)
        iterator = iter(self.loader)
        while True:
            started = time.perf_counter()
            try:
                batch = next(iterator)
            except StopIteration:
                return
            self._data_time += time.perf_counter() - started
            yield batch

    # -- one step --------------------------------------------------------------

    def train_step(self, batch: dict) -> dict[str, float]:
        run = self.run
        started = time.perf_counter()
        if not self.by_epoch and run.iteration * self.batch_size % self.samples_per_epoch < self.batch_size:
            self.hooks.mgx_before_train_epoch(run=run, epoch=run.iteration * self.batch_size // self.samples_per_epoch)
        if self._move_batches:
            batch = to_device(batch, run.device, non_blocking=True, memory_format=self._memory_format)
        before_iter, after_iter = self._iter_hooks
        if before_iter is not None:
            before_iter(run=run, iteration=run.iteration, batch=batch)
        outputs = run.model.train_step(batch, self.optim)
        losses = _detached_losses(outputs, type(run.model).__name__)
        if self.ema is not None:
            with plain_children(run.model, self.ddp_originals):
                self.ema.update(run.model, run.iteration + 1)
        self.schedulers.step_iteration(losses.get("loss"))
        run.iteration += 1
        # Losses stay tensors until the next log line, validation or checkpoint: turning each
        # into a float here would make the CPU wait for the GPU at every step.
        self._unchecked.append(losses)
        if len(self._unchecked) >= MAX_UNCHECKED_STEPS:  # bounded memory whatever the log interval
            self.check_losses()
        self._window_count += 1
        self._step_time += time.perf_counter() - started
        if self.acceleration is not None and self.acceleration.first_step_pending:
            self.acceleration.report_first_step(time.perf_counter() - started, run)
        if after_iter is not None:
            after_iter(run=run, iteration=run.iteration - 1, batch=batch, outputs=losses)
        if self.progress is not None and self.progress.draw_due():
            self.progress.draw(run.iteration, tracked_names({key: float(value) for key, value in losses.items()}))
        return losses

    def check_losses(self) -> None:
        """Move the losses of the steps since the last check into the log window (one
        device-to-host copy for all of them); a NaN/Inf among them stops training, naming
        the first iteration that produced one, before anything is logged or saved."""
        if not self._unchecked:
            return
        import torch

        steps, self._unchecked = self._unchecked, []
        keys = [key for losses in steps for key in losses]
        flat = [value for losses in steps for value in losses.values()]
        if not flat:
            return
        device = flat[0].device
        if device.type == "cpu":  # nothing to wait for: reading each is cheaper than stacking (~1 vs ~5 µs)
            numbers = [value.item() for value in flat]
        else:  # one device-to-host copy for all of them
            numbers = torch.stack([value.to(device) for value in flat]).tolist()
        if not all(map(math.isfinite, numbers)):
            self._stop_at_first_non_finite(steps, iter(numbers))
        window = self._window
        for key, value in zip(keys, numbers):  # step by step: the sums a resumed run repeats exactly
            window[key] = window.get(key, 0.0) + value

    def _stop_at_first_non_finite(self, steps: list[dict], numbers: Iterator[float]) -> None:
        first_iteration = self.run.iteration - len(steps) + 1
        for offset, losses in enumerate(steps):
            values = {key: next(numbers) for key in losses}
            bad = [key for key, value in values.items() if not math.isfinite(value)]
            if bad:
                raise NonFiniteLoss(
                    f"loss {', '.join(f'{k}={values[k]}' for k in bad)} at iteration {first_iteration + offset}: "
                    f"training stopped. The last good checkpoint is kept; lower the learning rate, enable "
                    f"clip_grad, or check the data")

    def end_of_epoch(self, epoch: int) -> None:
        self.schedulers.step_epoch()
        self.hooks.mgx_after_train_epoch(run=self.run, epoch=epoch - 1)

    # -- logging ---------------------------------------------------------------

    def log_progress(self) -> None:
        run = self.run
        if run.iteration % self.log_interval and run.iteration != run.max_iters:
            return
        self.check_losses()
        count = max(self._window_count, 1)
        values = {key: total / count for key, total in self._window.items()}
        values.update(self.optim.learning_rates())
        values["time"] = (self._step_time + self._data_time) / count
        values["data_time"] = self._data_time / count
        self._window, self._window_count, self._step_time, self._data_time = {}, 0, 0.0, 0.0
        values = tracked_names(values)  # the console shows the names MLflow records
        if run.is_main:
            if self.progress is not None:
                self.progress.log(run.iteration, values)
            if run.tracker is not None:
                run.tracker.log_metrics(values, step=run.iteration)

    # -- validation ----------------------------------------------------------------

    def validate(self) -> dict[str, float]:
        run = self.run
        if self.validator is None or self._validated_at == run.iteration:
            return {}
        self.check_losses()  # never validate (or save a best checkpoint of) weights a NaN reached
        self._validated_at = run.iteration
        self.validation_pending = True  # until the pass completes: a checkpoint taken meanwhile owes it
        self.hooks.mgx_before_val(run=run)
        started = time.perf_counter()
        where = f"Epoch(val) [{run.epoch}]" if self.by_epoch else f"Iter(val) [{run.iteration}]"
        with evaluation_progress(where, run.logger if run.is_main else None), self._whole_weights():
            metrics = self.val_loop.run(self.validator)
        self.validation_pending = False
        run.latest_metrics = metrics
        if run.is_main:
            run.logger.info(f"{where}  {format_metrics(metrics)}  ({time.perf_counter() - started:.1f} s)")
            if run.tracker is not None and metrics:
                run.tracker.log_metrics(metrics, step=run.iteration)
            grid = self.validator.save_sample_grid(run.work_dir / "samples" / f"iter_{run.iteration:07d}.png")
            if grid is not None and run.tracker is not None:
                run.tracker.log_image(grid, key="samples", step=run.iteration)
                if self.validator.sample_animation is not None:
                    run.tracker.log_artifact(self.validator.sample_animation, "samples")
            self.validator.log_prompt_samples(run.work_dir / "samples", run.iteration, run.tracker)
        self.hooks.mgx_after_val(run=run, metrics=metrics)
        self.schedulers.after_validation(metrics)
        self._maybe_save_best(metrics)
        return metrics

    def _whole_weights(self) -> Any:
        if self.sharded is None:
            return contextlib.nullcontext()
        from mgx.core.distributed.fsdp import whole_weights_during

        return whole_weights_during(self.run.model, **self.sharded)

    def _maybe_save_best(self, metrics: dict[str, float]) -> None:
        key = self.policy.save_best
        if not key or not metrics:
            return
        if key not in metrics:
            raise ConfigError(f"default_hooks.checkpoint.save_best={key!r} but validation produced no such metric; "
                              f"it produced: {', '.join(sorted(metrics))}")
        if not self.policy.is_better(metrics[key]):
            return
        self.policy.best_score = metrics[key]
        safe_key = re.sub(r"[^A-Za-z0-9_.-]+", "_", key)
        unit = f"epoch_{self.run.epoch}" if self.by_epoch else f"iter_{self.run.iteration}"
        path = self.run.work_dir / f"best_{safe_key}_{unit}.pth"
        previous = self.policy.best_path
        # the best checkpoint names itself as the best (a resume from it then removes the previous one)
        self.policy.best_path = path
        try:
            self._write(path, "best")
        except BaseException:
            self.policy.best_path = previous
            raise
        if self.run.is_main:
            if previous is not None and previous != path:
                remove_checkpoint(previous)
            self.run.logger.info(f"new best {key}: {metrics[key]:.4f} -> {path.name}")

    # -- checkpoints ---------------------------------------------------------------

    def save_checkpoint(self, reason: str) -> None:
        run = self.run
        count = run.epoch if self.by_epoch else run.iteration
        if reason == "interval":
            # (epoch-based loops call this once per epoch, iteration-based once per iteration)
            if self.policy.interval <= 0 or count % self.policy.interval:
                return
        elif reason == "last" and not self.policy.save_last:
            return
        elif reason == "last" and self._last_saved_iteration == run.iteration:
            # the final periodic checkpoint holds the final weights: it is also the run's "last"
            if run.is_main and run.tracker is not None and self._last_saved_path is not None:
                run.tracker.log_checkpoint(self._last_saved_path, kind="last")
            return
        prefix = "epoch" if self.by_epoch else "iter"
        path = run.work_dir / f"{prefix}_{count}.pth"
        self._write(path, reason)
        self._last_saved_iteration = run.iteration
        self._last_saved_path = path
        if run.is_main:
            self._prune(path, prefix)

    def _prune(self, saved: Path, prefix: str) -> None:
        """``max_keep_ckpts``: delete this training's oldest periodic checkpoints beyond the limit.
        Files other trainings left in the work_dir are not counted and never deleted."""
        keep = self.policy.max_keep_ckpts
        if keep is None or keep <= 0:
            return
        if self._own_periodic is None:  # first save of this session: find what earlier sessions saved
            token = self.extra_meta.get("run_token")
            self._own_periodic = ([p for p in checkpoints_of_run(self.run.work_dir, token, f"{prefix}_*.pth")
                                   if p != saved] if token else [])
        if saved not in self._own_periodic:
            self._own_periodic.append(saved)
        while len(self._own_periodic) > keep:
            remove_checkpoint(self._own_periodic.pop(0))

    def checkpoint_state(self, kind: str, path: Path | None = None) -> dict:
        """The checkpoint's on-disk dict (the layout of :mod:`mgx.core.engine.checkpoint_state`). A sharded
        training first writes its DCP folder beside ``path`` (every rank its shards)."""
        run = self.run
        sharded = None
        if self.sharded and path is not None:
            from mgx.core.distributed.fsdp import dcp_folder, save_sharded

            folder = dcp_folder(path)
            save_sharded(run.model, {name: self.optim[name].optimizer for name in self.optim}, folder)
            sharded, model_state = folder.name, {}
        else:
            with plain_children(run.model, self.ddp_originals):
                model_state = run.model.state_dict()
        policy = self.policy
        meta = CheckpointMeta(
            kind=kind, iteration=run.iteration, epoch=run.epoch, by_epoch=self.by_epoch, batch_size=self.batch_size,
            world_size=run.world_size, model_class=type(run.model).__name__, seed=self.extra_meta.get("seed"),
            best_key=policy.save_best, best_score=policy.best_score,
            best_path=policy.best_path.name if policy.best_path else None,
            tracking_run_id=run.tracker.run_id if run.tracker is not None else self.extra_meta.get("tracking_run_id"),
            run_token=self.extra_meta.get("run_token"), validation_pending=self.validation_pending,
            saved_at=time.time(), config_text=self.config_text)
        return CheckpointState.capture(meta=meta, model_state=model_state, ema=self.ema, optim=self.optim,
                                       schedulers=self.schedulers, session=self.session_state(),
                                       sharded=sharded).to_dict()

    def _write(self, path: Path, kind: str) -> None:
        self.check_losses()  # a checkpoint never holds weights a NaN loss reached
        state = self.checkpoint_state(kind, path)  # every rank: the RNG gather (and DCP) are collective
        if not self.run.is_main:
            return
        self.hooks.mgx_before_save_checkpoint(run=self.run, checkpoint=state)
        if self.run.tracker is not None:
            # values up to this checkpoint reach the store (or the spool) before it is committed:
            # a crash after it loses nothing that a resume from it would not log again
            self.run.tracker.secure_for_checkpoint()
        save_checkpoint(state, path)
        write_marker(self.run.work_dir, path)
        if self.run.tracker is not None:
            self.run.tracker.log_checkpoint(path, kind=TRACKED_KIND[kind])

    # -- stopping ------------------------------------------------------------------

    def stop_requested(self) -> bool:
        if self.run.world_size == 1:
            return preemption.requested()
        if self.run.iteration % STOP_CHECK_EVERY:
            return False
        import torch

        flag = torch.tensor([1.0 if preemption.requested() else 0.0])
        return bool(distributed.all_reduce_sum(flag).item() > 0)


def drop_stale_best(work_dir: Path, run_token: str | None, policy: CheckpointPolicy) -> list[Path]:
    """After a resume: keep exactly one best checkpoint of this training - the one the resumed
    checkpoint names (a kill between writing a new best and deleting the old one leaves two).
    If that file is gone, the newest remaining one is adopted with its score."""
    if not run_token:
        return []
    own_best = checkpoints_of_run(work_dir, run_token, "best_*.pth")
    if not own_best:
        return []
    if policy.best_path not in own_best:
        policy.best_path = own_best[-1]
        meta = checkpoint_meta(policy.best_path)
        if meta is not None and meta.best_score is not None:
            policy.best_score = meta.best_score
    stale = [p for p in own_best if p != policy.best_path]
    for path in stale:
        remove_checkpoint(path)
    return stale
