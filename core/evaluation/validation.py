"""Evaluation passes (validation during training and ``mgx run test``) and sample grids."""
from __future__ import annotations

import contextlib
import logging
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mgx.core import distributed

from mgx.core.distributed import preemption
from mgx.core.engine.data import to_device
from mgx.core.errors import ConfigError, MgxError
from mgx.core.evaluation.clip_samples import clip_rows, write_clip_gif
from mgx.core.evaluation.evaluator import Evaluator, MetricContext
from mgx.core.evaluation.image_grid import make_grid, save_png

GRID_SIZE = 64
GRID_SEED = 2024
GRID_COLUMNS = 8


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

    def generate(self, indices: list[int], sample_model: str, labels: Any = None,
                 sample_kwargs: dict | None = None) -> Any:
        _check_stop()
        return super().generate(indices, sample_model, labels, sample_kwargs)


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
        self.sample_animation: Path | None = None  # the GIF save_sample_grid wrote for a clip
        self.prompt_animations: list[Path] = []  # the GIFs save_prompt_grids wrote for clips (text-to-video)

    def context(self, eval_set: EvalSet | None, amp: bool | None = None) -> MetricContext:
        loader = eval_set.loader if eval_set else None
        return _StoppableContext(
            model=self.model, ema_model=self.ema.module if self.ema is not None else None, device=self.device,
            cache_dir=cache_dir(), work_dir=self.work_dir, dataloader_cfg=eval_set.loader_cfg if eval_set else None,
            seed=self.seed, amp=self.amp if amp is None else amp,
            batch_size=getattr(loader, "batch_size", None) or 32, dataloader=loader)

    def evaluate(self, amp: bool | None = None) -> dict[str, float]:
        """Every eval set in order; metric keys must not collide across sets. ``amp`` overrides
        the run's ``--amp`` for this pass (a loop's ``fp16=True``)."""
        import torch

        results: dict[str, float] = {}
        was_training = self.model.training
        self.model.eval()
        try:
            with preserved_rng():
                for eval_set in self.eval_sets:
                    ctx = self.context(eval_set, amp)
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
        predictions next to the ground truth for paired models. Returns the PNG path, or None. For clips,
        ``sample_animation`` is then the GIF of the first clip (else None)."""
        import torch

        self.sample_animation = None

        was_training = self.model.training
        self.model.eval()
        try:
            with preserved_rng(), torch.inference_mode():
                if hasattr(self.model, "sample"):
                    ctx = MetricContext(model=self.model, ema_model=self.ema.module if self.ema else None,
                                        device=self.device, cache_dir=cache_dir(), work_dir=self.work_dir,
                                        seed=GRID_SEED, amp=self.amp)
                    num_classes = int(getattr(self.model, "num_classes", 0) or 0)
                    # a class-conditional model: one class per row of the grid
                    labels = torch.arange(GRID_SIZE, device=self.device) // GRID_COLUMNS % num_classes \
                        if num_classes > 0 else None
                    images = ctx.generate(list(range(GRID_SIZE)), "ema", labels) / 255.0
                    grid = make_grid(images.cpu(), nrow=GRID_COLUMNS, padding=2)
                elif self.eval_sets:
                    batch = to_device(next(iter(self.eval_sets[0].loader)), self.device)
                    outputs = self.model.val_step(batch)
                    rows = clip_rows(batch, outputs)
                    if rows is not None:  # a clip: its animation too (clip_samples.py)
                        self.sample_animation = write_clip_gif(rows, path.with_suffix(".gif"))
                    if hasattr(self.model, "grid_columns"):  # the model's own columns, e.g. translation: input /
                        grid = columns_grid(self.model.grid_columns(batch, outputs))  # translation / target
                    elif "pred_img" in outputs:
                        grid = paired_grid(batch, outputs)
                    else:
                        return None
                else:
                    return None
        finally:
            self.model.train(was_training)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_png(grid, path)
        return path

    def log_prompt_samples(self, folder: Path, step: int, tracker: Any, logger: Any = None) -> None:
        """:meth:`save_prompt_grids`, then each grid logged as the MLflow image ``samples/<slug>`` and each
        clip's GIF as an artifact under ``samples/<slug>/`` (``tracker`` None: files only); ``logger``
        names each file written."""
        for key, path in self.save_prompt_grids(folder, step):
            if logger is not None:
                logger.info(f"sample grid {path}")
            if tracker is not None:
                tracker.log_image(path, key=key, step=step)
        for animation in self.prompt_animations:  # text-to-video: each prompt's first clip
            if logger is not None:
                logger.info(f"sample clip {animation}")
            if tracker is not None:
                tracker.log_artifact(animation, f"samples/{animation.parent.name}")

    def save_prompt_grids(self, folder: Path, step: int) -> list[tuple[str, Path]]:
        """For a text-to-image model (``prompt_grids(seed) -> {prompt: N×C×H×W in [-1, 1]}``, EMA weights
        when present): one PNG per prompt, ``folder/<prompt slug>/iter_<step>.png``, sampled from the
        same seed every time so a prompt's images can be compared across steps. Returns (key, path) pairs;
        the key (``samples/<slug>``) is the MLflow image key. Text-to-video (N×T×C×H×W clips): the PNG
        has one row of frames per clip, and the first clip's GIF (``iter_<step>.gif``) is listed in
        ``prompt_animations``."""
        import torch

        model = self.ema.module if self.ema is not None else self.model
        if not callable(getattr(model, "prompt_grids", None)):
            return []
        was_training = model.training
        model.eval()
        try:
            with preserved_rng(), torch.inference_mode():
                grids = model.prompt_grids(GRID_SEED)
        finally:
            model.train(was_training)
        saved = []
        self.prompt_animations = []
        for prompt, images in grids.items():
            slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", prompt).strip("_")[:80] or "prompt"
            path = folder / slug / f"iter_{step:07d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            pixels = ((images.float().cpu() + 1) / 2).clamp(0, 1)
            if pixels.dim() == 5:  # clips (N×T×C×H×W): a row of frames per clip, and the first clip's GIF
                self.prompt_animations.append(write_clip_gif(pixels[0] * 255, path.with_suffix(".gif")))
                save_png(make_grid(pixels.flatten(0, 1), nrow=pixels.shape[1], padding=2), path)
            else:
                save_png(make_grid(pixels, nrow=8, padding=2), path)
            saved.append((f"samples/{slug}", path))
        return saved


PAIRED_GRID_ROWS = 8


def _input_images(batch: dict) -> Any:
    """The low-quality input of a paired batch: ``lq_img``, else ``inputs`` unless it is the ground truth."""
    import torch

    if "lq_img" in batch:
        return batch["lq_img"]
    inputs, gt = batch.get("inputs"), batch.get("gt_img")
    if not isinstance(inputs, torch.Tensor) or inputs.dim() != 4:
        return None
    if isinstance(gt, torch.Tensor) and (inputs is gt or (inputs.shape == gt.shape and torch.equal(inputs, gt))):
        return None  # unconditional packing: 'inputs' is the ground truth itself
    return inputs


def first_clip(batch: dict) -> dict:
    """The first clip of a batch of N×T×C×H×W clips, its frames as a batch of images."""
    import torch

    return {key: value[0] for key, value in batch.items()
            if key in ("inputs", "lq_img", "gt_img") and isinstance(value, torch.Tensor) and value.dim() == 5}


def paired_grid(batch: dict, outputs: dict) -> Any:
    """Up to 8 rows of [input (bicubic-upsampled), prediction, ground truth], all at the ground truth's size
    (the prediction's when there is no ground truth), in [0, 1] for save_png. Clips: the first clip's
    frames, a row each."""
    import torch
    from torch.nn import functional as F

    if outputs["pred_img"].dim() == 5:  # clips: the first clip's frames, one row each
        batch, outputs = first_clip(batch), {"pred_img": outputs["pred_img"][0]}
    pred = outputs["pred_img"].float()[:PAIRED_GRID_ROWS]
    gt = batch.get("gt_img")
    gt = gt.float()[:PAIRED_GRID_ROWS] if isinstance(gt, torch.Tensor) and gt.dim() == 4 else None
    size = tuple((gt if gt is not None else pred).shape[-2:])
    lq = _input_images(batch)
    if lq is not None and lq.dim() == 5:  # frame windows restored to their centre frame (EDVR): show that frame
        lq = lq[:, lq.shape[1] // 2]
    columns = [lq, pred, gt]
    columns = [c.float()[:len(pred)] for c in columns if c is not None]

    def at_size(images: Any) -> Any:
        if tuple(images.shape[-2:]) == size:
            return images
        return F.interpolate(images, size=size, mode="bicubic", align_corners=False)

    return columns_grid([at_size(c.to(pred.device)) for c in columns])


def columns_grid(columns: list) -> Any:
    """Rows of [column 0, column 1, …] for up to 8 samples; each column N×C×H×W in [0, 255], one size
    (a model's ``grid_columns(batch, outputs)`` gives them for its own layout)."""
    import torch

    rows = min(PAIRED_GRID_ROWS, *[len(c) for c in columns])
    columns = [c[:rows].detach().float().cpu().clamp(0, 255) / 255.0 for c in columns]
    channels = max(c.shape[1] for c in columns)
    columns = [c.expand(-1, channels, -1, -1) if c.shape[1] == 1 else c for c in columns]
    tiles = torch.stack(columns, dim=1).flatten(0, 1)  # sample 0: column 0, 1, …; sample 1: ...
    return make_grid(tiles.cpu(), nrow=len(columns), padding=2)


__all__ = ["EvalSet", "ValidationStopped", "Validator", "cache_dir", "columns_grid", "paired_grid"]
