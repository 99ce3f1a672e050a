"""The Evaluator: metrics built from config dicts, fed by one evaluation pass.

The metric contract itself (``BaseMetric``, ``GenerativeMetric``, ``MetricContext``) is in
``mgx.core.evaluation.metric``.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterable

from mgx.core import distributed
from mgx.core.run import progress
from mgx.core.errors import ConfigError, MgxError
from mgx.core.evaluation.metric import BaseMetric, MetricContext, as_float_pixels, metric_contract_problems
from mgx.core.registry import build


class Evaluator:
    """Holds metrics built from config dicts and runs one evaluation pass."""

    def __init__(self, metrics: list[dict] | None = None, *, field: str = "metrics",
                 defer_problems: bool = False, paths: list[str] | None = None) -> None:
        """Build every metric; a metric that fails to build or breaks the contract is a problem.

        Problems of all metrics are raised together as one ``ConfigError``, or, with
        ``defer_problems``, kept in ``self.problems`` for the pre-flight to report
        (``evaluate`` refuses to run while there are any). ``paths`` name each metric's
        config key in messages (default ``{field}.metrics[i]``).
        """
        self.metrics: list[BaseMetric] = []
        self.labels: list[str] = []  # where each metric comes from, for messages
        self.problems: list[str] = []
        cfgs = metrics or []
        if not isinstance(cfgs, (list, tuple)):
            raise ConfigError(f"{field}.metrics must be a list of metric configs, got {type(cfgs).__name__}")
        for index, cfg in enumerate(cfgs):
            where = paths[index] if paths is not None else f"{field}.metrics[{index}]"
            try:
                metric = build(cfg, "metric")
            except MgxError as exc:
                self.problems.append(f"{where}: {exc}")
                continue
            broken = metric_contract_problems(metric)
            if broken:  # kept out of the evaluation: it would fail there with an AttributeError
                self.problems.extend(f"{where}: {problem}" for problem in broken)
                continue
            self.metrics.append(metric)
            self.labels.append(f"{where} ({type(metric).__name__})")
        if self.problems and not defer_problems:
            raise ConfigError("\n".join(self.problems))

    def labelled_metrics(self) -> list[tuple[str, BaseMetric]]:
        """(``val_evaluator.metrics[i] (Type)``, metric) pairs."""
        return list(zip(self.labels, self.metrics))

    def declared_directions(self) -> dict[str, str | None]:
        """Every metric's declared directions by full key (see BaseMetric.directions)."""
        declared: dict[str, str | None] = {}
        for metric in self.metrics:
            declared.update(metric.declared_directions())
        return declared

    def evaluate(self, ctx: MetricContext, dataloader: Any, val_step: Callable[[dict], dict] | None,
                 to_device: Callable[[Any], Any]) -> dict[str, float]:
        if self.problems:
            raise ConfigError("\n".join(self.problems))
        for metric in self.metrics:
            metric.reset_states()
            metric.setup(ctx)
        direct = {}
        for metric in self.metrics:
            if type(metric).evaluate is not BaseMetric.evaluate:
                progress.report(f"{type(metric).__name__}:", 0, None)  # its own loop; it may report more
                direct[id(metric)] = metric.evaluate(ctx)
        fed = [m for m in self.metrics if id(m) not in direct or direct[id(m)] is None]
        self._feed_dataloader(fed, dataloader, val_step, to_device)
        self._feed_fakes(ctx, [m for m in fed if m.needs_fakes])
        results: dict[str, float] = {}
        for metric in self.metrics:
            values = direct.get(id(metric))
            if values is None:
                metric.sync_states()
                values = metric.compute()
            for key, value in values.items():
                full = metric.full_key(key)
                if full in results:
                    raise ConfigError(f"two metrics both produce {full!r}: give them different prefix= values")
                results[full] = float(value)
        return results

    def _feed_dataloader(self, metrics: list[BaseMetric], dataloader: Any, val_step, to_device) -> None:
        paired = [m for m in metrics if m.uses_val_step]
        reals = [m for m in metrics if m.needs_reals]
        if not paired and not reals:
            return
        if dataloader is None:
            names = ", ".join(type(m).__name__ for m in paired + reals)
            raise ConfigError(f"metrics {names} need a dataloader (val_dataloader / test_dataloader) but none is configured")
        import torch

        names = ", ".join(_display_name(m) for m in dict.fromkeys(paired + reals))
        total = len(dataloader) if hasattr(dataloader, "__len__") else None
        for done, batch in enumerate(dataloader, 1):
            progress.report(f"{names}: dataset batches", done - 1, total)
            batch = to_device(batch)
            if paired:
                with torch.inference_mode():
                    outputs = val_step(batch)
                for metric in paired:
                    metric.process(batch, outputs)
            for metric in reals:
                key = metric.real_key if metric.real_key in batch else "gt_img"
                if key not in batch:
                    raise ConfigError(f"metric {type(metric).__name__} reads real images from batch key "
                                      f"{metric.real_key!r}, but batches have {sorted(batch)}: set real_key=")
                indices = batch.get("sample_idx")
                if indices is None:
                    raise MgxError("batches carry no 'sample_idx'; datasets must add the sample index to each sample")
                metric.process_real(as_float_pixels(batch[key]), torch.as_tensor(indices))

    def _feed_fakes(self, ctx: MetricContext, metrics: list[BaseMetric]) -> None:
        import torch

        groups: dict[tuple, list[BaseMetric]] = {}
        for metric in metrics:  # metrics that sample alike share the images
            sample_kwargs = getattr(metric, "sample_kwargs", None) or {}
            # need_cond_input: conditional inputs from the evaluation set's labels (MMagic's rule)
            from_dataset = bool(getattr(metric, "need_cond_input", False))
            groups.setdefault((metric.sample_model, from_dataset, repr(sorted(sample_kwargs.items()))),
                              []).append(metric)
        for (sample_model, from_dataset, _), group in groups.items():
            sample_kwargs = getattr(group[0], "sample_kwargs", None) or {}
            total = max(metric.fake_nums for metric in group)
            mine = list(distributed.shard_indices(total))
            stage = f"{', '.join(_display_name(m) for m in group)}: generated images ({sample_model})"
            for start in range(0, len(mine), ctx.batch_size):
                progress.report(stage, start, len(mine))
                indices = mine[start:start + ctx.batch_size]
                labels = ctx.dataset_labels(indices) if from_dataset else None
                images = ctx.generate(indices, sample_model, labels, sample_kwargs=sample_kwargs)
                index_tensor = torch.as_tensor(indices)
                for metric in group:
                    keep = index_tensor < metric.fake_nums
                    if bool(keep.any()):
                        metric.process_fake(images[keep.to(images.device)], index_tensor[keep])


def _display_name(metric: BaseMetric) -> str:
    return metric.prefix or type(metric).__name__


def declared_directions(evaluators: Iterable["Evaluator"]) -> dict[str, str | None]:
    """The declared directions of every metric of these evaluators, by full key."""
    declared: dict[str, str | None] = {}
    for evaluator in evaluators:
        declared.update(evaluator.declared_directions())
    return declared


def format_metrics(results: dict[str, float]) -> str:
    """MMagic's form: ``FID-Full-50k/fid: 3.6561  FID-Full-50k/mean: 0.4263``."""
    return "  ".join(f"{key}: {value:.4f}" if math.isfinite(value) else f"{key}: {value}" for key, value in results.items())
