"""A plugin module the engine tests load with MGX_PLUGINS (as a user would load a local plugin).

It registers run hooks that record every lifecycle call, that widen the
checkpoint-write window (so a test can kill a run mid-write), a model whose
loss turns NaN at a chosen iteration, and a training and a validation loop of its own.
"""
from __future__ import annotations

import json

import torch
from torch import nn

from mgx.core.engine.loops import TrainLoop, ValLoop
from mgx.core.evaluation import GenerativeMetric
from mgx.core.hookspecs import hookimpl


class RecordingHook:
    """Appends one JSON line per lifecycle call to ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path

    def _record(self, name: str, **fields) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"hook": name, **fields}) + "\n")

    @hookimpl
    def mgx_before_run(self, run):
        self._record("before_run", mode=run.mode, iteration=run.iteration)

    @hookimpl
    def mgx_after_run(self, run, status):
        self._record("after_run", status=status, iteration=run.iteration)

    @hookimpl
    def mgx_before_train_epoch(self, run, epoch):
        self._record("before_train_epoch", epoch=epoch)

    @hookimpl
    def mgx_after_train_epoch(self, run, epoch):
        self._record("after_train_epoch", epoch=epoch)

    @hookimpl
    def mgx_before_train_iter(self, run, iteration, batch):
        self._record("before_train_iter", iteration=iteration)

    @hookimpl
    def mgx_after_train_iter(self, run, iteration, batch, outputs):
        self._record("after_train_iter", iteration=iteration, losses=sorted(outputs))

    @hookimpl
    def mgx_before_val(self, run):
        self._record("before_val", iteration=run.iteration)

    @hookimpl
    def mgx_after_val(self, run, metrics):
        self._record("after_val", iteration=run.iteration, metrics=sorted(metrics))

    @hookimpl
    def mgx_before_test(self, run):
        self._record("before_test")

    @hookimpl
    def mgx_after_test(self, run, metrics):
        self._record("after_test", metrics=sorted(metrics))

    @hookimpl
    def mgx_before_save_checkpoint(self, run, checkpoint):
        self._record("before_save_checkpoint", iteration=checkpoint["meta"]["iteration"])

    @hookimpl
    def mgx_after_load_checkpoint(self, run, checkpoint):
        self._record("after_load_checkpoint", iteration=checkpoint["meta"]["iteration"])


class BulkyCheckpoints:
    """Adds ``megabytes`` of data to every checkpoint so that writing one takes a while."""

    def __init__(self, megabytes: int = 64, grow: bool = False) -> None:
        self.megabytes = megabytes
        self.grow = grow
        self.saved = 0

    @hookimpl
    def mgx_before_save_checkpoint(self, run, checkpoint):
        self.saved += 1
        size = self.megabytes * (self.saved if self.grow else 1)
        checkpoint["extra"]["ballast"] = torch.ones(size * 1024 * 1024 // 4)


class SignalAt:
    """Sends ``signal`` to its own process at a chosen point: after training iteration
    ``iteration`` (1-based count), when validation at that iteration begins
    (``point='before_val'``), or when the run ends, after its last checkpoint and before
    its MLflow run is closed (``point='after_run'``). A real signal, at a point a test can
    name exactly."""

    def __init__(self, iteration: int, signal: str = "SIGTERM", point: str = "after_train_iter",
                 once_file: str | None = None) -> None:
        self.iteration = iteration
        self.signal = signal
        self.point = point
        self.once_file = once_file  # when given: only the first run that gets there is signalled

    def _send(self) -> None:
        import os
        import signal as signals

        if self.once_file is not None:
            if os.path.exists(self.once_file):
                return
            open(self.once_file, "w").close()
        os.kill(os.getpid(), getattr(signals, self.signal))

    @hookimpl
    def mgx_after_train_iter(self, run, iteration, batch, outputs):
        if self.point == "after_train_iter" and iteration + 1 == self.iteration:
            self._send()

    @hookimpl
    def mgx_before_val(self, run):
        if self.point == "before_val" and run.iteration == self.iteration:
            self._send()

    @hookimpl
    def mgx_after_run(self, run, status):
        if self.point == "after_run":
            self._send()


class PauseAt:
    """Holds the training after iteration ``iteration`` (1-based) for up to ``seconds``, until a stop
    is requested (SIGTERM, Slurm's requeue): a test's signal then lands mid-training however fast
    or loaded the machine is. Only the first run that gets there pauses (``once_file``), and only in a
    work dir whose path ends with ``work_dir_suffix`` when one is given (one point of a sweep)."""

    def __init__(self, iteration: int, once_file: str, seconds: float = 120.0, work_dir_suffix: str = "") -> None:
        self.iteration, self.once_file, self.seconds = iteration, once_file, seconds
        self.work_dir_suffix = work_dir_suffix

    @hookimpl
    def mgx_after_train_iter(self, run, iteration, batch, outputs):
        import os
        import time

        from mgx.core.distributed import preemption

        if iteration + 1 != self.iteration or os.path.exists(self.once_file) \
                or not str(run.work_dir).rstrip("/").endswith(self.work_dir_suffix):
            return
        open(self.once_file, "w").close()
        deadline = time.monotonic() + self.seconds
        while time.monotonic() < deadline and not preemption.requested():
            time.sleep(0.1)


class NaNAtIteration(nn.Module):
    """A one-layer regressor whose loss is NaN from iteration ``nan_at`` (1-based) on."""

    def __init__(self, nan_at: int = 3, unreduced: bool = False) -> None:
        super().__init__()
        self.layer = nn.Linear(8, 1)
        self.nan_at = nan_at
        self.unreduced = unreduced  # return the per-sample losses (a model bug mgx must name)
        self.steps = 0

    def train_step(self, batch, optim):
        self.steps += 1
        x = batch["inputs"].float().flatten(1)[:, :8] / 255.0
        per_sample = self.layer(x).pow(2)
        loss = per_sample.mean()
        if self.steps >= self.nan_at:
            loss = loss * float("nan")
        optim.update_params(loss)
        return {"loss": per_sample.detach() if self.unreduced else loss.detach(), "steps": self.steps}

    def val_step(self, batch):
        return {}


@hookimpl
def mgx_register_run_hooks(register):
    register(RecordingHook)
    register(BulkyCheckpoints)
    register(SignalAt)
    register(PauseAt)


@hookimpl
def mgx_register_models(register):
    register(NaNAtIteration)


class StepsLoop(TrainLoop):
    """A training loop of its own (not an IterBasedTrainLoop): ``train_cfg=dict(type='StepsLoop', steps=N)``.
    The engine learns its length only from what TrainLoop answers."""

    def __init__(self, steps: int, val_interval: int = 1) -> None:
        super().__init__(val_interval=val_interval)
        self.steps = steps

    def limit(self):
        return "steps", self.steps

    def run(self, session):
        run = session.run
        run.max_iters = self.steps
        batches = session.batches(epoch=None)
        while run.iteration < self.steps:
            session.train_step(next(batches))
            session.log_progress()
            if self.validation_due(run.iteration, self.steps):
                session.validate()
            session.save_checkpoint("interval")
        return "FINISHED"


class RecordingValLoop(ValLoop):
    """Appends the metrics of each pass it runs to ``record`` (one JSON line per pass)."""

    def __init__(self, record: str, fp16: bool = False) -> None:
        super().__init__(fp16=fp16)
        self.record = record

    def run(self, session):
        metrics = super().run(session)
        with open(self.record, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(metrics) + "\n")
        return metrics


class AmpProbe(GenerativeMetric):
    """Reports whether the evaluation pass ran under autocast (its metric context's ``amp``)."""

    default_prefix = "Probe"

    def result_keys(self):
        return ["amp"]

    def setup(self, ctx):
        self.amp = ctx.amp

    def process_fake(self, images, indices):
        pass

    def compute(self):
        return {"amp": float(self.amp)}


@hookimpl
def mgx_register_loops(register):
    register(StepsLoop)
    register(RecordingValLoop)


@hookimpl
def mgx_register_metrics(register):
    register(AmpProbe)
