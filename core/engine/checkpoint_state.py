"""The checkpoint format: the one module that knows the keys of an mgx checkpoint.

A checkpoint file is a dict saved with ``torch.save`` and loaded weights-only::

    {"format": 1, "mgx_version": "...",
     "meta": {kind, iteration, epoch, by_epoch, batch_size, world_size, model_class, seed,
              best_key, best_score, best_path, tracking_run_id, run_token, validation_pending,
              saved_at, config_text[, model_uri]},
     "model": {...}, "ema": {...} | None, "optimizers": {...}, "schedulers": [...],
     "rng": [one state per rank], "session": {"log_window": {...}, "validation_pending": ...},
     "extra": {... run hooks' own entries}[, "sharded": "iter_N.dcp"]}

A sharded training (``model_wrapper_cfg=dict(type='FSDP')``) writes its weights and optimizer
states with ``torch.distributed.checkpoint`` into the folder ``sharded`` names, beside the file
(see :mod:`mgx.core.distributed.fsdp`); the file then holds ``"model": {}`` and each optimizer
entry ``"optimizer": None`` (its loss scaler and accumulation count stay in the file).

:class:`CheckpointState` is that dict typed: ``capture`` takes it from a training,
``to_dict`` gives the on-disk dict, ``from_dict`` reads one written by any mgx version
(entries an older version did not write get their defaults; entries a newer one adds are
kept) or an MMEngine/MMagic file (weights under ``state_dict``), and ``restore`` puts it
back into a training. Every other module reads a checkpoint through these classes: the
key names live here only, and never change, so old checkpoints keep loading.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from mgx.core.errors import ConfigError, MgxError

FORMAT_VERSION = 1

# the top-level keys on disk
_FORMAT, _VERSION, _META, _MODEL, _EMA = "format", "mgx_version", "meta", "model", "ema"
_OPTIMIZERS, _SCHEDULERS, _RNG, _SESSION, _EXTRA = "optimizers", "schedulers", "rng", "session", "extra"
_SHARDED = "sharded"  # the DCP folder's name, in the checkpoint's own folder
_OPTIMIZER = "optimizer"  # an optimizer wrapper's torch optimizer state (None: it is in the DCP folder)
#: where MMEngine (and so MMagic) checkpoints keep the model's weights
_MMENGINE_WEIGHTS = "state_dict"
# the session entry's keys
_LOG_WINDOW, _SUMS, _COUNT, _STEP_TIME, _DATA_TIME = "log_window", "sums", "count", "step_time", "data_time"
_VALIDATION_PENDING = "validation_pending"


class CheckpointError(MgxError):
    """A checkpoint file that cannot be used."""


@dataclass
class CheckpointMeta:
    """``meta``: where the training stood and which run it belongs to (field names are the keys)."""

    kind: str | None = None            # "interval", "best", "last" or "preempt"
    iteration: int = 0
    epoch: int = 0
    by_epoch: bool | None = None
    batch_size: int | None = None
    world_size: int | None = None
    model_class: str | None = None
    seed: int | None = None
    best_key: str | None = None
    best_score: float | None = None
    best_path: str | None = None       # the best checkpoint's file name, in the same work_dir
    tracking_run_id: str | None = None
    run_token: str | None = None       # the training that wrote it (see mgx.core.run.record)
    validation_pending: bool = False   # a stop signal interrupted this iteration's validation
    saved_at: float | None = None
    config_text: str | None = None
    model_uri: str | None = None       # the MLflow model a `mgx run test --model` file was made from
    other: dict = field(default_factory=dict)  # keys this version does not know, kept as they are

    def to_dict(self) -> dict:
        known = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "other"}
        if known["model_uri"] is None:  # only `--model` files carry it
            del known["model_uri"]
        return {**self.other, **known}

    @classmethod
    def from_dict(cls, meta: Any) -> "CheckpointMeta":
        meta = dict(meta) if isinstance(meta, dict) else {}
        names = {f.name for f in fields(cls)} - {"other"}
        known = {key: meta.pop(key) for key in list(meta) if key in names}
        found = cls(**known, other=meta)
        found.iteration = int(found.iteration or 0)
        found.epoch = int(found.epoch or 0)
        found.validation_pending = bool(found.validation_pending)
        return found


@dataclass
class SessionState:
    """``session``: the logging window (losses summed since the last log line) and whether a
    validation is owed, so that a resumed run logs exactly what the uninterrupted one logs."""

    window_sums: dict[str, float] = field(default_factory=dict)
    window_count: int = 0
    step_time: float = 0.0
    data_time: float = 0.0
    validation_pending: bool = False

    def to_dict(self) -> dict:
        return {_LOG_WINDOW: {_SUMS: dict(self.window_sums), _COUNT: self.window_count,
                              _STEP_TIME: self.step_time, _DATA_TIME: self.data_time},
                _VALIDATION_PENDING: self.validation_pending}

    @classmethod
    def from_dict(cls, session: Any) -> "SessionState":
        session = session if isinstance(session, dict) else {}
        window = session.get(_LOG_WINDOW) or {}
        return cls(window_sums={str(k): float(v) for k, v in dict(window.get(_SUMS) or {}).items()},
                   window_count=int(window.get(_COUNT, 0)), step_time=float(window.get(_STEP_TIME, 0.0)),
                   data_time=float(window.get(_DATA_TIME, 0.0)),
                   validation_pending=bool(session.get(_VALIDATION_PENDING, False)))


@dataclass
class CheckpointState:
    """A whole checkpoint. ``optimizers`` is None for a file that holds weights only (an MMEngine
    checkpoint, or the one ``mgx run test --model`` writes): such a file cannot be resumed."""

    model: dict
    meta: CheckpointMeta = field(default_factory=CheckpointMeta)
    ema: dict | None = None
    optimizers: dict | None = None
    schedulers: list = field(default_factory=list)
    rng: list = field(default_factory=list)  # one RNG state per rank
    session: SessionState = field(default_factory=SessionState)
    extra: dict = field(default_factory=dict)
    format: int = FORMAT_VERSION
    mgx_version: str | None = None
    sharded: str | None = None  # the DCP folder holding the weights and optimizer states
    source_dir: Path | None = None  # where the file was read from (the DCP folder is beside it)

    @classmethod
    def capture(cls, *, meta: CheckpointMeta, model_state: dict, ema: Any, optim: Any, schedulers: Any,
                session: SessionState, sharded: str | None = None) -> "CheckpointState":
        """The state of a training; every rank calls it (the RNG states are gathered collectively).
        ``sharded``: the DCP folder that already holds the weights and optimizer states."""
        from mgx import __version__
        from mgx.core import distributed
        from mgx.core.engine.randomness import capture_rng_state

        optimizers = optim.state_dict()
        if sharded:
            model_state = {}
            optimizers = {name: {**entry, _OPTIMIZER: None} for name, entry in optimizers.items()}
        return cls(model=model_state, meta=meta, ema=ema.state_dict() if ema is not None else None,
                   optimizers=optimizers, schedulers=schedulers.state_dict(),
                   rng=distributed.all_gather_object(capture_rng_state()), session=session,
                   mgx_version=__version__, sharded=sharded)

    @classmethod
    def weights_only(cls, model_state: dict, meta: CheckpointMeta) -> "CheckpointState":
        """A file to evaluate, not to resume (e.g. the network of an MLflow model)."""
        from mgx import __version__

        return cls(model=model_state, meta=meta, mgx_version=__version__)

    def to_dict(self) -> dict:
        """The dict ``torch.save`` writes (the hooks ``mgx_before_save_checkpoint`` and
        ``mgx_after_load_checkpoint`` see this layout too)."""
        state = {_FORMAT: self.format, _VERSION: self.mgx_version, _META: self.meta.to_dict(), _MODEL: self.model,
                 _EMA: self.ema, _OPTIMIZERS: self.optimizers, _SCHEDULERS: self.schedulers, _RNG: self.rng,
                 _SESSION: self.session.to_dict(), _EXTRA: self.extra}
        if self.sharded:
            state[_SHARDED] = self.sharded
        return state

    @classmethod
    def from_dict(cls, state: Any, source: str) -> "CheckpointState":
        """Read a loaded checkpoint; ``source`` (its file) names it in errors."""
        check_layout(state, source)
        return cls(model=weights_of(state), meta=CheckpointMeta.from_dict(state.get(_META)), ema=state.get(_EMA),
                   optimizers=state.get(_OPTIMIZERS), schedulers=list(state.get(_SCHEDULERS) or []),
                   rng=list(state.get(_RNG) or []), session=SessionState.from_dict(state.get(_SESSION)),
                   extra=dict(state.get(_EXTRA) or {}), format=int(state.get(_FORMAT, FORMAT_VERSION)),
                   mgx_version=state.get(_VERSION), sharded=state.get(_SHARDED), source_dir=Path(source).parent)

    def evaluation_weights(self, use_ema: bool) -> tuple[dict, str]:
        """(weights, "ema" or "model"): the EMA weights when ``use_ema`` and the file has them."""
        return (self.ema, "ema") if use_ema and self.ema is not None else (self.model, "model")

    def restore(self, *, model: Any, ema: Any, optim: Any, schedulers: Any, rank: int, source: str) -> None:
        """Put the training back as it was saved: weights, EMA, optimizers, schedulers and this
        rank's RNG state (a run on more ranks than saved takes rank 0's)."""
        from mgx.core.engine.randomness import restore_rng_state

        if self.optimizers is None:
            raise CheckpointError(f"checkpoint {source} holds weights only, no training state, so it cannot be "
                                  f"resumed; start from its weights with load_from={source!r} instead")
        if self.sharded:
            from mgx.core.distributed.fsdp import load_sharded

            load_sharded(model, {name: optim[name].optimizer for name in optim}, self.source_dir / self.sharded)
        else:
            from mgx.core.distributed.fsdp import sharded_modules

            if sharded_modules(model):
                raise CheckpointError(f"checkpoint {source} holds whole weights, not shards: a sharded (FSDP) "
                                      f"training resumes only from the DCP checkpoints it writes; resume this one "
                                      f"in one process or with DDP, or start from its weights with "
                                      f"load_from={source!r}")
            load_model_weights(model, self.model, source)
        if ema is not None:
            if self.ema is None:
                raise ConfigError(f"checkpoint {source} has no EMA weights but the config sets ema_config")
            ema.load_state_dict(self.ema)
        optim.load_state_dict(self.optimizers)
        schedulers.load_state_dict(self.schedulers)
        if self.rng:
            restore_rng_state(self.rng[rank] if rank < len(self.rng) else self.rng[0])


def check_layout(state: Any, source: str) -> None:
    """Refuse what is neither an mgx checkpoint (``model``) nor an MMEngine one (``state_dict``)."""
    if not isinstance(state, dict) or (_MODEL not in state and not isinstance(state.get(_MMENGINE_WEIGHTS), dict)):
        raise CheckpointError(f"checkpoint {source} is not an mgx checkpoint (no '{_MODEL}' entry) "
                              f"nor an MMEngine one (no '{_MMENGINE_WEIGHTS}' entry)")


def sharded_folder(state: Any, source: str | Path) -> Path | None:
    """The DCP folder of a sharded checkpoint (read from ``source``), None for a whole one."""
    name = state.get(_SHARDED) if isinstance(state, dict) else None
    return Path(source).parent / name if name else None


def fill_sharded_weights(state: dict, source: str | Path) -> dict:
    """A sharded checkpoint's whole weights, read from its DCP folder into ``state['model']``
    (to evaluate it, or to start from it with load_from); other files are returned as they are."""
    folder = sharded_folder(state, source)
    if folder is not None and not state.get(_MODEL):
        from mgx.core.distributed.fsdp import full_weights

        state[_MODEL] = full_weights(folder)
    return state


def meta_of(state: Any) -> CheckpointMeta | None:
    """The meta of a loaded file, or None when it has none (a foreign or torn file)."""
    meta = state.get(_META) if isinstance(state, dict) else None
    return CheckpointMeta.from_dict(meta) if isinstance(meta, dict) else None


def weights_of(state: dict) -> dict:
    """The model's state dict from an mgx checkpoint, an MMEngine/MMagic one (``state_dict``), or a bare state dict."""
    if _MODEL in state and isinstance(state[_MODEL], dict):
        return state[_MODEL]
    return state[_MMENGINE_WEIGHTS] if isinstance(state.get(_MMENGINE_WEIGHTS), dict) else state


def load_model_weights(model: Any, weights: dict, source: str) -> None:
    """Load strictly; on mismatch name the missing and unexpected keys.

    A model with ``adapt_loaded_weights(weights)`` first converts foreign layouts (e.g. MMagic's)."""
    adapt = getattr(model, "adapt_loaded_weights", None)
    if callable(adapt):
        weights = adapt(weights)
    own = model.state_dict()
    missing = sorted(set(own) - set(weights))
    unexpected = sorted(set(weights) - set(own))
    mismatched = sorted(k for k in set(own) & set(weights) if tuple(own[k].shape) != tuple(weights[k].shape))
    if missing or unexpected or mismatched:
        def show(keys: list[str]) -> str:
            return ", ".join(keys[:8]) + (f" … ({len(keys)} in all)" if len(keys) > 8 else "")

        parts = []
        if missing:
            parts.append(f"missing keys: {show(missing)}")
        if unexpected:
            parts.append(f"unexpected keys: {show(unexpected)}")
        if mismatched:
            parts.append(f"shape mismatch: {show(mismatched)}")
        raise ConfigError(f"checkpoint {source} does not fit model {type(model).__name__} "
                          f"(is it from another model?): {'; '.join(parts)}")
    model.load_state_dict(weights)


__all__ = ["FORMAT_VERSION", "CheckpointError", "CheckpointMeta", "CheckpointState", "SessionState", "check_layout",
           "fill_sharded_weights", "load_model_weights", "meta_of", "sharded_folder", "weights_of"]
