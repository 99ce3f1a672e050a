"""Evaluation passes (validation during training and ``mgx run test``) and sample grids."""
from __future__ import annotations

import contextlib
import logging
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import distributed, preemption
from .data import to_device
from .errors import ConfigError, MgxError
from .evaluation import Evaluator, MetricContext

GRID_SIZE = 64
GRID_SEED = 2024


class ValidationStopped(MgxError):
    """A stop signal (SIGTERM, SIGUSR1) arrived during an evaluation pass, which was abandoned."""


def _check_stop() -> None:
    # Only a single process abandons a pass on its own: ranks of a distributed run would leave
    # each other waiting in the metrics' collectives, so there the pass ends and the training
    # loop's cross-rank stop check takes over.
    if preemption.requested() and distributed.get_world_size() == 1:
        raise ValidationStopped(f"validation stopped by {preemption.reason() or 'a stop signal'}")


def _stoppable(loader: Any) -> Any:
    """``loader`` that checks for a stop request before each batch."""
    if loader is None:
        return None

    class _Stoppable:
        def __len__(self) -> int:
            return len(loader)

        def __getattr__(self, name: str) -> Any:
            return getattr(loader, name)

        def __iter__(self) -> Any:
            for batch in loader:
                _check_stop()
                yield batch

    return _Stoppable()


class _StoppableContext(MetricContext):
    """A metric context whose image generation checks for a stop request before each batch."""

    def generate(self, indices: list[int], sample_model: str) -> Any:
        _check_stop()
        return super().generate(indices, sample_model)


@dataclass
class EvalSet:
    """One dataloader and its evaluator (a MultiValLoop has several)."""

    loader: Any
    evaluator: Evaluator
    loader_cfg: dict | None


def cache_dir() -> Path:
    return Path(os.environ.get("MGX_CACHE_DIR", Path.home() / ".cache" / "mgx"))


@contextlib.contextmanager
def preserved_rng() -> Any:
    """Evaluation must not move the training RNG streams (resume stays exact)."""
    import numpy as np
    import torch

    python_state, numpy_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        try:
            yield
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)


class Validator:
    def __init__(self, eval_sets: list[EvalSet], *, model: Any, ema: Any, device: Any, amp: bool, seed: int,
                 work_dir: Path) -> None:
        self.eval_sets = eval_sets
        self.model = model
        self.ema = ema
        self.device = device
        self.amp = amp
        self.seed = seed
        self.work_dir = work_dir

    def context(self, eval_set: EvalSet | None) -> MetricContext:
        loader = eval_set.loader if eval_set else None
        return _StoppableContext(
            model=self.model, ema_model=self.ema.module if self.ema is not None else None, device=self.device,
            cache_dir=cache_dir(), work_dir=self.work_dir, dataloader_cfg=eval_set.loader_cfg if eval_set else None,
            seed=self.seed, amp=self.amp, batch_size=getattr(loader, "batch_size", None) or 32, dataloader=loader)

    def evaluate(self) -> dict[str, float]:
        """Every eval set in order; metric keys must not collide across sets."""
        import torch

        results: dict[str, float] = {}
        was_training = self.model.training
        self.model.eval()
        try:
            with preserved_rng():
                for eval_set in self.eval_sets:
                    ctx = self.context(eval_set)
                    values = eval_set.evaluator.evaluate(ctx, _stoppable(eval_set.loader), self.model.val_step,
                                                         lambda batch: to_device(batch, self.device))
                    for note in dict.fromkeys(ctx.warnings):  # metrics' notes, once each
                        logging.getLogger("mgx").warning(note)
                    clash = sorted(set(values) & set(results))
                    if clash:
                        raise ConfigError(f"validation sets produce the same metric key(s) {clash}: give the metrics "
                                          f"of each set its own prefix=")
                    results.update(values)
        finally:
            self.model.train(was_training)
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
        return results

    def save_sample_grid(self, path: Path) -> Path | None:
        """A grid of generated samples (fixed noise, EMA when present), or of the first eval batch's
        predictions next to the ground truth for paired models. Returns the PNG path, or None."""
        import torch
        from torchvision.utils import make_grid, save_image

        was_training = self.model.training
        self.model.eval()
        try:
            with preserved_rng(), torch.inference_mode():
                if hasattr(self.model, "sample"):
                    ctx = MetricContext(model=self.model, ema_model=self.ema.module if self.ema else None,
                                        device=self.device, cache_dir=cache_dir(), work_dir=self.work_dir,
                                        seed=GRID_SEED, amp=self.amp)
                    images = ctx.generate(list(range(GRID_SIZE)), "ema") / 255.0
                    grid = make_grid(images.cpu(), nrow=8, padding=2)
                elif self.eval_sets:
                    batch = to_device(next(iter(self.eval_sets[0].loader)), self.device)
                    outputs = self.model.val_step(batch)
                    if "pred_img" not in outputs:
                        return None
                    rows = [outputs["pred_img"].float()[:8] / 255.0]
                    if "gt_img" in batch:
                        rows.insert(0, batch["gt_img"].float()[:8] / 255.0)
                    if "lq_img" in batch:
                        rows.insert(0, batch["lq_img"].float()[:8] / 255.0)
                    grid = make_grid(torch.cat([r.clamp(0, 1).cpu() for r in rows]), nrow=min(8, len(rows[0])), padding=2)
                else:
                    return None
        finally:
            self.model.train(was_training)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(grid, path)
        return path


__all__ = ["EvalSet", "ValidationStopped", "Validator", "cache_dir"]
