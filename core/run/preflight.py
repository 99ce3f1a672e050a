"""Pre-flight: what a run can check before iteration 0 (or the first test batch), reported at once.

Two steps, both before the MLflow run is opened:

1. ``check_component_types(cfg, mode)`` — every ``type=`` the command will build
   (model, datasets, transforms, samplers, metrics, feature extractors, run hooks,
   the train loop, and every component nested in their arguments: ``model.generator``,
   see ``mgx.core.config.components``) is registered; all unknown ones are listed in
   one message, with the config check's other problems.
2. ``check_run(...)`` — once the model, dataloaders and evaluators are built:
   every metric built and keeping the metric contract; the model has the members
   each metric declares in ``model_requirements()``; each metric's resources
   (feature-extractor weights) are found or fetched by ``prepare_resources()``;
   ``save_best`` names a key some metric declares in ``result_keys()`` (or, see
   ``resolve_save_best``, the one key that ends in ``/<save_best>``); each
   dataloader yields a batch and its dataset's pipeline works on the first sample
   (holding what the metrics read).

Every problem found goes into one ``ConfigError`` (exit 2), the same on every rank.
Metrics and extractors implement the hooks (``mgx.core.evaluation.BaseMetric``);
nothing here knows a particular plugin.
"""
from __future__ import annotations

import logging

from typing import Any, Iterator

from mgx.core import distributed
from mgx.core.config.components import nested_components
from mgx.core.config.evaluators import evaluator_entries
from mgx.core.errors import ConfigError, MgxError
from mgx.core.registry import MISSING_PLUGIN_HINT, get_registry

# -- 1. component types ---------------------------------------------------------------


def _items(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """A config entry that may be one dict or a list of them, with the path of each."""
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield f"{path}[{index}]", item
    elif value is not None:
        yield path, value


def _typed(value: Any, path: str, kind: str) -> Iterator[tuple[str, str, str]]:
    """The component at ``path`` and every component nested in its arguments (``model.generator``...)."""
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        yield f"{path}.type", kind, value["type"]
        for nested in nested_components(value, path, kind, get_registry()):
            yield f"{nested.path}.type", nested.kind, nested.name


def run_sections(cfg: Any, mode: str) -> tuple[list[str], list[str]]:
    """(dataloader keys, evaluator keys) that ``mode`` ('train' or 'test') builds."""
    if mode == "train":
        return ["train_dataloader", "val_dataloader"], ["val_evaluator"]
    if not cfg.get("test_evaluator") and cfg.get("val_evaluator"):
        return ["val_dataloader"], ["val_evaluator"]
    return ["test_dataloader"], ["test_evaluator"]


def component_types(cfg: Any, mode: str) -> Iterator[tuple[str, str, str]]:
    """(config path, kind, type name) of every component the command builds by name."""
    yield from _typed(cfg.get("model"), "model", "model")
    loader_keys, evaluator_keys = run_sections(cfg, mode)
    for key in loader_keys:
        for path, loader in _items(cfg.get(key), key):
            if not isinstance(loader, dict):
                continue
            dataset = loader.get("dataset")
            yield from _typed(dataset, f"{path}.dataset", "dataset")  # with its pipeline
            yield from _typed(loader.get("sampler"), f"{path}.sampler", "sampler")
    for key in evaluator_keys:
        for entry in evaluator_entries(cfg.get(key), key):
            for metric_path, metric in zip(entry.metric_paths, entry.metrics):
                yield from _typed(metric, metric_path, "metric")
    for path, hook in _items(cfg.get("custom_hooks"), "custom_hooks"):
        yield from _typed(hook, path, "run_hook")
    if mode == "train":
        yield from _typed(cfg.get("train_cfg"), "train_cfg", "loop")
    eval_loop_key = "val_cfg" if mode == "train" else "test_cfg"  # the evaluation loop the command builds
    yield from _typed(cfg.get(eval_loop_key), eval_loop_key, "loop")


def check_component_types(cfg: Any, mode: str, plugins: Any = None, other_problems: list[str] | None = None) -> None:
    """Raise one ConfigError naming every unregistered ``type=`` of the config (and plugins that failed
    to load), together with ``other_problems`` (what the config check found)."""
    registry = get_registry()
    types = list(component_types(cfg, mode))
    source = getattr(cfg, "filename", None) or "the config"
    # a plugin registers what needs an uninstalled extra as a placeholder whose `unavailable` says what to install
    unavailable = [(path, getattr(registry.get(kind, name), "unavailable", None))
                   for path, kind, name in types if (kind, name) in registry]
    unavailable = [(path, reason) for path, reason in unavailable if reason]
    if unavailable:  # one message: the first names the extra, the rest would repeat it
        path, reason = unavailable[0]
        raise ConfigError(f"{reason} ({path} in {source})")
    unknown = [(path, registry.describe_unknown(kind, name)) for path, kind, name in types
               if (kind, name) not in registry]
    if not unknown:  # the caller raises the other problems in their usual form
        return
    other_problems = list(other_problems or [])
    if len(unknown) == 1 and not other_problems:
        [(path, description)] = unknown
        lines = [f"{description} ({path} in {source})."]
    elif not other_problems:
        lines = [f"{source} uses {len(unknown)} component types that no loaded plugin registers:"]
        lines += [f"  - {path}: {description}" for path, description in unknown]
    else:
        count = len(unknown) + len(other_problems)
        lines = [f"{source}: {count} problem{'s' if count > 1 else ''}:"]
        lines += [f"  - {path}: {description}" for path, description in unknown]
        lines += [f"  - {problem}" for problem in other_problems]
    failures = list(getattr(plugins, "load_errors", None) or [])
    if failures:
        lines.append("Plugins that failed to load: " + "; ".join(str(failure) for failure in failures))
    lines.append(MISSING_PLUGIN_HINT)
    raise ConfigError("\n".join(lines))


# -- 2. the built run ----------------------------------------------------------------------


def _model_problems(model: Any, labelled_metrics: list[tuple[str, Any]]) -> list[str]:
    problems = []
    for label, metric in labelled_metrics:
        missing = {member: why for member, why in metric.model_requirements().items()
                   if getattr(model, member, None) is None}
        if missing:
            needs = "; ".join(f"model.{member}: {why}" for member, why in missing.items())
            problems.append(f"{label} needs what model {type(model).__name__} lacks ({needs}); implement "
                            f"{' and '.join(missing)} (docs/models.md) or remove the metric")
    return problems


def _resource_problems(labelled_metrics: list[tuple[str, Any]]) -> list[str]:
    problems = []
    for label, metric in labelled_metrics:
        try:
            metric.prepare_resources()
        except MgxError as exc:
            problems.append(f"{label}: {exc}")
    return problems


def _declared_keys(eval_sets: list) -> tuple[dict[str, str], list[Any], list[str]]:
    """Every metric key the evaluators declare (key -> the metric's label), the metrics that cannot
    declare theirs in advance, and the keys two metrics both produce."""
    declared: dict[str, str] = {}
    unverifiable: list[Any] = []
    problems = []
    for eval_set in eval_sets:
        for label, metric in eval_set.evaluator.labelled_metrics():
            keys = metric.result_keys()
            if keys is None:
                unverifiable.append(metric)
                continue
            for key in keys:
                full = metric.full_key(key)
                if full in declared:
                    problems.append(f"{declared[full]} and {label} both produce {full!r}: give them different "
                                    f"prefix= values")
                declared[full] = label
    return declared, unverifiable, problems


def _suffix_matches(save_best: str, declared: dict[str, str]) -> list[str]:
    return sorted(key for key in declared if key.endswith(f"/{save_best}"))


def resolve_save_best(save_best: str | None, eval_sets: list) -> str | None:
    """The metric key ``save_best`` stands for. MMagic's runtime says ``save_best='PSNR'`` while a
    metric with ``prefix='McMaster'`` logs ``McMaster/PSNR`` (MMEngine's CheckpointHook then stops
    with ``KeyError: 'PSNR'`` at the first validation); a name no metric produces that ends exactly
    one declared key after a ``/`` means that key. Anything else is returned as given (the
    pre-flight reports it, with the candidates when several keys end in it). MMEngine's
    ``save_best='auto'`` means the first key of the first metric (DeblurGANv2's configs)."""
    if not save_best or not eval_sets:
        return save_best
    declared, _, _ = _declared_keys(eval_sets)
    if save_best == "auto" and "auto" not in declared and declared:
        return next(iter(declared))
    if save_best in declared:
        return save_best
    matches = _suffix_matches(save_best, declared)
    return matches[0] if len(matches) == 1 else save_best


def _save_best_problems(save_best: str | None, eval_sets: list, evaluator_field: str) -> list[str]:
    declared, unverifiable, problems = _declared_keys(eval_sets)
    if not save_best:
        return problems
    where = f"default_hooks.checkpoint.save_best={save_best!r}"
    if not eval_sets:
        # MMEngine's CheckpointHook keeps a best checkpoint only after validations: without any it keeps
        # none (MMagic's PGGAN configs set save_best and val_cfg = None)
        logging.getLogger("mgx").warning("%s but the run has no %s: no best checkpoint is kept", where,
                                         evaluator_field)
        return problems
    if save_best in declared:
        return problems
    # a metric that cannot say its keys in advance may produce it: the first validation checks it then
    if any(metric.prefix is None or save_best.startswith(f"{metric.prefix}/") for metric in unverifiable):
        return problems
    matches = _suffix_matches(save_best, declared)
    if len(matches) > 1:
        return problems + [f"{where} matches several metric keys of {evaluator_field}: {', '.join(matches)}; "
                           f"name one of them in full"]
    produced = ", ".join(sorted(declared)) or "(nothing)"
    return problems + [f"{where} but no metric of {evaluator_field} produces it; they produce: {produced}"]


def _first_sample(loader: Any) -> Any:
    dataset = getattr(loader, "dataset", None)
    return dataset[0] if dataset is not None else next(iter(loader))


def _loader_problems(field: str, loader: Any, reading_metrics: list[tuple[str, Any]]) -> list[str]:
    try:
        if len(loader) == 0:
            return [f"{field} yields no batch: its dataset or sampler is empty for this process"]
    except TypeError:  # an iterable loader without len()
        pass
    try:
        sample = _first_sample(loader)
    except Exception as exc:  # any failure of a user's pipeline is a problem to report, not a crash
        why = str(exc) if isinstance(exc, MgxError) else f"{type(exc).__name__}: {exc}"
        return [f"{field}: the dataset pipeline fails on the first sample (index 0): {why}"]
    if not isinstance(sample, dict):
        return []
    problems = []
    if any(metric.needs_reals for _, metric in reading_metrics) and "sample_idx" not in sample:
        problems.append(f"{field}: samples carry no 'sample_idx', which metrics need; the dataset must add each "
                        f"sample's index")
    for label, metric in reading_metrics:
        if metric.needs_reals and metric.real_key not in sample and "gt_img" not in sample:
            problems.append(f"{label} reads real images from {metric.real_key!r}, but {field} samples have "
                            f"{sorted(sample)}: set real_key= or pack the images under that key (PackInputs)")
    return problems


def _gather(problems: list[str]) -> list[str]:
    """Every rank's problems, in order, without repeats: each rank raises the same error."""
    merged: dict[str, None] = {}
    for part in distributed.all_gather_object(problems):
        merged.update(dict.fromkeys(part))
    return list(merged)


def check_run(model: Any, *, eval_sets: list, evaluator_field: str, loader_fields: dict[str, Any] | None = None,
              eval_loader_field: str = "", save_best: str | None = None) -> None:
    """Check the built run (see the module docstring); raise one ConfigError listing every problem.

    ``eval_sets`` are ``mgx.core.evaluation.validation.EvalSet``s (dataloader + evaluator),
    ``loader_fields`` maps other dataloaders' config keys to the loaders.
    """
    from mgx.core.evaluation.validation import preserved_rng

    problems: list[str] = []
    labelled = [pair for eval_set in eval_sets for pair in eval_set.evaluator.labelled_metrics()]
    for eval_set in eval_sets:
        problems += eval_set.evaluator.problems
    problems += _model_problems(model, labelled)
    problems += _resource_problems(labelled)
    problems += _save_best_problems(save_best, eval_sets, evaluator_field)
    # the first samples may draw random numbers: leave the RNG streams as they were (resume stays exact)
    with preserved_rng():
        for field, loader in (loader_fields or {}).items():
            if loader is not None:
                problems += _loader_problems(field, loader, [])
        for index, eval_set in enumerate(eval_sets):
            if eval_set.loader is None:
                continue
            field = f"{eval_loader_field}[{index}]" if len(eval_sets) > 1 else eval_loader_field
            readers = [(label, metric) for label, metric in eval_set.evaluator.labelled_metrics()
                       if metric.needs_reals or metric.uses_val_step]
            problems += _loader_problems(field, eval_set.loader, readers)
    problems = _gather(problems)
    if problems:
        raise ConfigError(f"pre-flight found {len(problems)} problem(s); nothing was trained, evaluated or "
                          f"recorded:\n" + "\n".join(f"  - {problem}" for problem in problems))


__all__ = ["check_component_types", "check_run", "component_types", "resolve_save_best", "run_sections"]
