"""Every key of a resolved config is accounted for: used, mapped, or reported as ignored.

The engine's own keys are declared in one table here (``TOP_LEVEL_KEYS``,
``DEFAULT_HOOK_KEYS`` and the sections below); the accepted keys of each
section come from the code that consumes it (``data.LOADER_KEYS``,
``optim.WRAPPER_KEYS``, the loop and checkpoint-policy signatures), and
component dicts (``type=...``) are checked against the constructor of the
registered component, so a plugin's new arguments are covered without listing
them anywhere.

A key that looks like a misspelling of a known one (edit distance 1, or 2 for
long names) is an error with a did-you-mean. Anything else not consumed is
named once in one "ignored" warning.
"""
from __future__ import annotations

import inspect
import numbers
from dataclasses import dataclass, field
from typing import Any, Iterable

from mgx.core.errors import ConfigError


@dataclass(frozen=True)
class Key:
    handling: str  # "used": read by mgx as in MMEngine; "mapped": to mgx's equivalent; "ignored": named in the warning
    note: str


# The one table of top-level keys (docs/configs.md shows the same, with MMagic's meaning).
TOP_LEVEL_KEYS: dict[str, Key] = {
    "model": Key("used", "built by type through the registry"),
    "train_dataloader": Key("used", "dataset, sampler and loader options"),
    "val_dataloader": Key("used", "validation data (a list with MultiValLoop)"),
    "test_dataloader": Key("used", "test data (a list with MultiTestLoop)"),
    "train_cfg": Key("used", "train loop: max_iters/max_epochs, val_begin, val_interval, dynamic_intervals"),
    "val_cfg": Key("used", "ValLoop/MultiValLoop"),
    "test_cfg": Key("used", "TestLoop/MultiTestLoop"),
    "val_evaluator": Key("used", "dict(type='Evaluator', metrics=[...]), a list of metric dicts (one evaluator, "
                                 "as in MMagic), or one evaluator per dataloader"),
    "test_evaluator": Key("used", "as val_evaluator, for `mgx run test`"),
    "optim_wrapper": Key("used", "optimizers, AMP, accumulation, clipping, constructors and paramwise_cfg"),
    "param_scheduler": Key("used", "MMEngine's schedulers by name (begin/end/by_epoch/convert_to_iter_based)"),
    "default_hooks": Key("mapped", "timer, logger, param_scheduler, checkpoint, sampler_seed: see the section"),
    "custom_hooks": Key("used", "run hooks by type; VisualizationHook/BasicVisualizationHook map to sample grids"),
    "custom_imports": Key("used", "modules imported; their @hookimpl functions become plugins for the run"),
    "default_scope": Key("mapped", "accepted: mgx has one registry, every name resolves in it"),
    "env_cfg": Key("mapped", "cudnn_benchmark, mp_cfg.mp_start_method, dist_cfg.backend"),
    "log_processor": Key("mapped", "window_size: losses are logged as the mean over the logger interval"),
    "log_level": Key("used", "level of the run log"),
    "visualizer": Key("mapped", "sample grids go to work_dir/samples and to MLflow (any vis_backends)"),
    "vis_backends": Key("mapped", "MLflow records every run; local files stay in work_dir"),
    "model_wrapper_cfg": Key("mapped", "DDP per trainable sub-module: find_unused_parameters, broadcast_buffers; "
                                       "type='FSDP' (or MMFullyShardedDataParallel): FSDP2 sharding, DCP checkpoints"),
    "load_from": Key("used", "weights loaded before training (ignored when resuming)"),
    "resume": Key("used", "True: resume from the newest checkpoint in work_dir; a path: from it (--resume wins)"),
    "auto_scale_lr": Key("used", "enable=True scales every lr by total batch / base_batch_size"),
    "randomness": Key("used", "seed, deterministic, diff_rank_seed"),
    "work_dir": Key("used", "logs, resolved config, checkpoints (--work-dir wins)"),
    "ema_config": Key("used", "EMA of the model's weights"),
    "compile": Key("used", "True or dict(backend, mode, ...): torch.compile each trainable sub-network"),
    "channels_last": Key("used", "True: a convolutional model and its batches in channels-last format"),
    "tracking": Key("used", "MLflow settings (docs/tracking.md)"),
    "tracking_uri": Key("used", "MLflow tracking URI"),
    "experiment_name": Key("used", "MLflow experiment of the run (--experiment and tracking.experiment win)"),
    "launcher": Key("ignored", "the launcher is chosen with --launcher"),
    "dist_params": Key("ignored", "MMCV 1.x key; use env_cfg.dist_cfg"),
    "mp_start_method": Key("ignored", "MMCV 1.x key; use env_cfg.mp_cfg"),
    "opencv_num_threads": Key("ignored", "MMCV 1.x key; use env_cfg.mp_cfg"),
}

DEFAULT_HOOK_KEYS: dict[str, Key] = {
    "timer": Key("mapped", "every iteration is timed (time, data_time in the log and MLflow)"),
    "logger": Key("used", "interval: how often losses are logged"),
    "param_scheduler": Key("mapped", "the engine steps param_scheduler itself; MMagic's ReduceLRSchedulerHook "
                                     "(val_metric, by_epoch, interval) says what steps a ReduceLR"),
    "checkpoint": Key("used", "interval, max_keep_ckpts, save_best, rule, less_keys/greater_keys, save_last, out_dir"),
    "sampler_seed": Key("mapped", "samplers are re-seeded every epoch (seed + epoch)"),
    "runtime_info": Key("mapped", "learning rates and iteration are logged"),
    "visualization": Key("mapped", "sample grids at each validation"),
}

# sections whose keys are fixed (consumers' own declarations are added in `_section_keys`)
SECTION_KEYS: dict[str, dict[str, str]] = {
    "default_hooks.logger": {"type": "used", "interval": "used", "log_metric_by_epoch": "ignored",
                             "ignore_last": "ignored", "interval_exp_name": "ignored", "out_dir": "ignored",
                             "out_suffix": "ignored", "keep_local": "ignored", "backend_args": "ignored"},
    "default_hooks.checkpoint": {"out_dir": "mapped", "filename_tmpl": "ignored", "save_param_scheduler": "mapped",
                                 "published_keys": "ignored", "backend_args": "ignored",
                                 "file_client_args": "ignored"},
    "env_cfg": {"cudnn_benchmark": "used", "mp_cfg": "used", "dist_cfg": "used"},
    "env_cfg.mp_cfg": {"mp_start_method": "used", "opencv_num_threads": "used"},
    "env_cfg.dist_cfg": {"backend": "used", "timeout": "used"},
    "log_processor": {"type": "mapped", "window_size": "mapped", "by_epoch": "mapped", "custom_cfg": "ignored",
                      "num_digits": "ignored", "log_with_hierarchy": "ignored", "mean_pattern": "ignored"},
    "model_wrapper_cfg": {"type": "mapped", "find_unused_parameters": "used", "broadcast_buffers": "used",
                          # FSDP (core/distributed/fsdp.py refuses the FSDP1 options FSDP2 lacks)
                          "reshard_after_forward": "used", "sharding_strategy": "mapped", "use_orig_params": "mapped",
                          "backward_prefetch": "mapped", "forward_prefetch": "mapped", "limit_all_gathers": "mapped",
                          "sync_module_states": "mapped", "device_id": "mapped"},
    "auto_scale_lr": {"enable": "used", "base_batch_size": "used"},
    "randomness": {"seed": "used", "deterministic": "used", "diff_rank_seed": "used"},
    "visualizer": {"type": "mapped", "vis_backends": "mapped", "fn_key": "ignored", "img_keys": "ignored",
                   "bgr2rgb": "ignored", "name": "ignored", "save_dir": "ignored"},
    "val_cfg": {"type": "used", "fp16": "used"},
    "test_cfg": {"type": "used", "fp16": "used"},
    "evaluator": {"type": "used", "metrics": "used"},
}


@dataclass
class Accounting:
    """What a config check found: errors (raised together) and keys mgx does not use."""

    errors: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def ignore(self, path: str) -> None:
        if path not in self.ignored:
            self.ignored.append(path)

    def warning(self) -> str | None:
        if not self.ignored:
            return None
        return "config keys mgx does not use (ignored): " + ", ".join(self.ignored)

    def raise_errors(self, filename: str) -> None:
        if self.errors:
            if len(self.errors) == 1:
                raise ConfigError(f"{filename}: {self.errors[0]}")
            raise ConfigError(f"{filename}: {len(self.errors)} problems:\n  - " + "\n  - ".join(self.errors))


# -- misspellings ----------------------------------------------------------------------


def edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance (a swap of neighbours counts as one edit)."""
    rows = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        rows[i][0] = i
    for j in range(len(b) + 1):
        rows[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
    return rows[-1][-1]


def likely_misspelling(key: str, known: Iterable[str]) -> str | None:
    """The known key ``key`` most likely misspells: distance 1 (2 for names of 9+ letters); a name of
    2-3 letters only by an added, dropped or changed last letters (``lrr`` for ``lr``)."""
    best, best_distance = None, None
    for candidate in known:
        if candidate == key or len(candidate) < 2:
            continue
        if len(candidate) < 4 and not key.lower().startswith(candidate.lower()[:2]):
            continue
        limit = 2 if len(candidate) >= 9 else 1
        distance = edit_distance(key.lower(), candidate.lower())
        if distance <= limit and (best_distance is None or distance < best_distance):
            best, best_distance = candidate, distance
    return best


def check_keys(section: dict, known: Iterable[str], path: str, accounting: Accounting,
               ignored_known: Iterable[str] = ()) -> list[str]:
    """Misspellings become errors; other unknown keys are reported ignored. Returns the unknown keys."""
    known = list(known)
    unknown = []
    for key in section:
        if key in known:
            continue
        unknown.append(key)
        guess = likely_misspelling(str(key), known)
        if guess is not None:
            accounting.errors.append(f"{_join(path, key)} is not a known key. Did you mean {_join(path, guess)!r}?")
        else:
            accounting.ignore(_join(path, key))
    for key in ignored_known:
        if key in section:
            accounting.ignore(_join(path, key))
    return unknown


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


# -- argument types ------------------------------------------------------------------------


def expected_type(default: Any, annotation: Any) -> tuple[type, ...] | None:
    """What an argument must be, judged from its default (or a plain class annotation)."""
    if isinstance(default, bool):
        return (bool,)
    if isinstance(default, numbers.Real):
        return (numbers.Real,)
    if isinstance(default, str):
        return (str,)
    if annotation in (int, float):
        return (numbers.Real,)
    if annotation is bool:
        return (bool,)
    return None


def type_problems(factory: Any, kwargs: dict, field_path: str) -> list[str]:
    """``key=value`` pairs whose value cannot be what the parameter expects (a string for a number...)."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return []
    problems = []
    for name, value in kwargs.items():
        param = params.get(name)
        if param is None or value is None:
            continue
        annotation = _plain_annotation(param.annotation)
        expected = expected_type(param.default if param.default is not param.empty else None, annotation)
        if expected is None:
            continue
        if expected == (numbers.Real,) and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
            # (a tuple/list where a number is the default: e.g. betas-like arguments stay unchecked)
            if isinstance(value, (list, tuple, dict)):
                continue
            problems.append(f"{field_path}.{name}={value!r}: expected a number, got {type(value).__name__}")
        elif expected == (bool,) and not isinstance(value, (bool, int)):
            problems.append(f"{field_path}.{name}={value!r}: expected True or False, got {type(value).__name__}")
        elif expected == (str,) and isinstance(value, (numbers.Real, bool)) and not isinstance(value, str):
            continue  # a str default often means "a mode name or a number"; not worth a false alarm
    return problems


_ANNOTATION_NAMES = {"int": int, "float": float, "bool": bool}


def _plain_annotation(annotation: Any) -> Any:
    """``int``/``float``/``bool`` (also as strings under ``from __future__ import annotations``,
    optionally ``| None``); anything else is not judged."""
    if isinstance(annotation, type):
        return annotation
    if isinstance(annotation, str):
        text = annotation.replace(" ", "")
        for suffix in ("|None",):
            text = text[: -len(suffix)] if text.endswith(suffix) else text
        return _ANNOTATION_NAMES.get(text)
    return None


def raise_type_problems(factory: Any, kwargs: dict, field_path: str) -> None:
    problems = type_problems(factory, kwargs, field_path)
    if problems:
        raise ConfigError("; ".join(problems))


def accepted_arguments(factory: Any) -> tuple[set[str], bool]:
    """(keyword names a component accepts, whether it takes **kwargs)."""
    try:
        params = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        return set(), True
    named = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return named, any(p.kind is p.VAR_KEYWORD for p in params)
