"""Checkpoints: atomic writes, retention, best-by-metric, and finding one to resume from.

A write goes to a temporary file in the same folder, is fsynced, then
``os.replace``d over the final name, and only then is the ``last_checkpoint``
marker updated: a kill at any moment leaves every finished checkpoint loadable.
Files load with ``torch.load(weights_only=True)``: they hold tensors, numbers,
strings, lists and dicts only (the config is stored as Python source text).
"""
from __future__ import annotations

import math
import os
import re
import warnings
from pathlib import Path
from typing import Any

from mgx.core.engine.checkpoint_state import (FORMAT_VERSION, CheckpointError, CheckpointState, check_layout,
                                              fill_sharded_weights, load_model_weights, weights_of)
from mgx.core.errors import ConfigError, MgxError
from mgx.core.evaluation.direction import LOWER, direction_of, guess_from_name, lookup

MARKER = "last_checkpoint"
TMP_TAG = ".tmp-"
_NUMBER = re.compile(r"(?:iter|epoch)_(\d+)")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, write: Any) -> None:
    """Call ``write(file)`` on a temp file beside ``path``, fsync, and move it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}{TMP_TAG}{os.getpid()}")
    try:
        with open(tmp, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def save_checkpoint(state: dict, path: Path) -> None:
    import torch

    try:
        atomic_write_bytes(path, lambda handle: torch.save(state, handle))
    except (OSError, RuntimeError) as exc:
        # torch.save turns a failed write (ENOSPC, EFBIG) into a RuntimeError when it closes the archive
        cause = _os_error_in(exc)
        if cause is None and not isinstance(exc, OSError) and "inline_container" not in str(exc):
            raise
        reason = (cause.strerror or str(cause)) if cause is not None else str(exc)
        previous = read_marker(path.parent)
        kept = f"; the previous checkpoint {previous.name} is intact" if previous else ""
        raise CheckpointError(f"could not write checkpoint {path}: {reason}{kept}. "
                              f"Free disk space or choose another --work-dir") from exc


def _os_error_in(exc: BaseException | None) -> OSError | None:
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, OSError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def write_marker(work_dir: Path, checkpoint: Path) -> None:
    atomic_write_bytes(work_dir / MARKER, lambda handle: handle.write(checkpoint.name.encode()))


def read_marker(work_dir: Path) -> Path | None:
    marker = work_dir / MARKER
    if not marker.is_file():
        return None
    name = marker.read_text().strip()
    return work_dir / name if name else None


def load_checkpoint(path: str | Path, whole_weights: bool = True) -> dict:
    """Load an mgx checkpoint safely; clear errors for missing, unreadable or foreign files.

    A sharded checkpoint's weights are read from its DCP folder into ``model`` unless
    ``whole_weights`` is False (a resume loads each rank's shards itself)."""
    import torch

    path = Path(path)
    if not path.exists():
        raise ConfigError(f"checkpoint {path} does not exist")
    if path.is_dir():
        raise ConfigError(f"checkpoint {path} is a folder; give a .pth file (or --resume to pick the newest in a work_dir)")
    trusted = is_trusted(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=not trusted)
    except PermissionError as exc:
        raise ConfigError(f"cannot read checkpoint {path}: {exc.strerror}") from None
    except Exception as exc:
        # only a file naming a global (a class or function to call) holds code; bytes the
        # unpickler cannot even parse are a corrupt file, which trusting would not help
        if "Weights only load failed" in str(exc) and "GLOBAL" in str(exc):
            raise CheckpointError(_refused_message(path, str(exc))) from None
        if "Weights only load failed" in str(exc):
            detail = re.search(r"WeightsUnpickler error:\s*(.+)", str(exc))
            raise CheckpointError(f"checkpoint {path} is corrupt or not a PyTorch file (unreadable pickle: "
                                  f"{detail.group(1).strip() if detail else 'bad data'})") from None
        raise CheckpointError(f"checkpoint {path} is corrupt or not a PyTorch file "
                              f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
    if trusted:
        warnings.warn(f"checkpoint {path} was loaded with full unpickling (it may run code) because "
                      f"{TRUST_ENV} names it", RuntimeWarning, stacklevel=2)
    check_layout(state, str(path))
    return fill_sharded_weights(state, path) if whole_weights else state


def read_checkpoint(path: str | Path) -> CheckpointState:
    """Load a checkpoint file safely (see ``load_checkpoint``) as a typed :class:`CheckpointState`."""
    return CheckpointState.from_dict(load_checkpoint(path), str(path))


#: Checkpoints (paths, separated by os.pathsep) the user trusts to be unpickled in full.
TRUST_ENV = "MGX_TRUSTED_CHECKPOINTS"


def is_trusted(path: Path) -> bool:
    """Whether ``MGX_TRUSTED_CHECKPOINTS`` names this very file (no wildcards: trust is per file)."""
    listed = [entry for entry in os.environ.get(TRUST_ENV, "").split(os.pathsep) if entry.strip()]
    target = path.resolve()
    return any(Path(entry.strip()).expanduser().resolve() == target for entry in listed)


def _refused_message(path: Path, error: str) -> str:
    """torch's weights-only loader refused an object: say what it is and how to allow the file."""
    found = re.search(r"GLOBAL ([\w.]+)", error)
    what = f" (it would call or build {found.group(1)} when loaded)" if found else ""
    return (f"checkpoint {path} holds code, not only weights{what}, and was refused for safety: loading it "
            f"could run anything on this machine. mgx checkpoints never hold code; if you made this file "
            f"or trust where it came from, allow this one file explicitly with "
            f"{TRUST_ENV}={path.resolve()} (see docs/engine.md, \"Checkpoints that hold code\")")


def checkpoint_number(path: Path) -> int:
    match = _NUMBER.search(path.name)
    return int(match.group(1)) if match else -1


def find_resumable(work_dir: Path) -> tuple[Path, dict] | None:
    """The newest complete checkpoint in ``work_dir`` and its state; corrupt ones are skipped with a warning."""
    if not work_dir.is_dir():
        return None
    # The highest iteration wins; the marker only breaks ties (a kill can land between a
    # checkpoint's rename and the marker update, leaving the marker one checkpoint behind).
    marked = read_marker(work_dir)
    files = [p for p in work_dir.glob("*.pth") if TMP_TAG not in p.name]
    candidates = sorted(files, key=lambda p: (checkpoint_number(p), p == marked, p.stat().st_mtime), reverse=True)
    for candidate in candidates:
        try:
            return candidate, load_checkpoint(candidate, whole_weights=False)
        except MgxError as exc:
            warnings.warn(f"skipping checkpoint {candidate}: {exc}", RuntimeWarning, stacklevel=2)
    return None


class CheckpointPolicy:
    """``default_hooks.checkpoint``: interval, retention, save_best, save_last."""

    def __init__(self, interval: int = -1, by_epoch: bool = False, max_keep_ckpts: int = -1,
                 save_best: str | list[str] | None = None, rule: str | None = None,
                 less_keys: list[str] | None = None, greater_keys: list[str] | None = None,
                 save_last: bool = True, save_optimizer: bool = True, type: str | None = None) -> None:
        # MMEngine takes lists of keys and rules; mgx keeps the best checkpoint of the first key
        if isinstance(save_best, (list, tuple)):
            save_best = save_best[0] if save_best else None
        if isinstance(rule, (list, tuple)):
            rule = rule[0] if rule else None
        if rule is not None and rule not in ("greater", "less"):
            raise ConfigError(f"default_hooks.checkpoint.rule must be 'greater' or 'less', got {rule!r}")
        if isinstance(interval, bool) or not isinstance(interval, int):
            raise ConfigError(f"default_hooks.checkpoint.interval must be an integer, got {interval!r}")
        self.interval = interval
        self.by_epoch = by_epoch
        self.max_keep_ckpts = max_keep_ckpts
        self.save_best = save_best
        if greater_keys and save_best in greater_keys:
            rule = rule or "greater"
        elif less_keys and save_best in less_keys:
            rule = rule or "less"
        self.explicit_rule = rule
        # until the metrics are built (use_declared_directions), the key's name is the only hint
        self.rule = rule or _rule_for(direction_of(save_best) if save_best else None)
        self.save_last = save_last
        self.best_score: float | None = None
        self.best_path: Path | None = None

    def is_better(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.best_score is None:
            return True
        return value < self.best_score if self.rule == "less" else value > self.best_score


    def use_declared_directions(self, declared: dict[str, str | None]) -> str | None:
        """Take ``save_best``'s rule from the direction its metric declares, unless ``rule`` /
        ``less_keys`` / ``greater_keys`` set it. Returns a warning when nothing says which way is
        better (the rule is then 'greater', as in MMEngine)."""
        if not self.save_best or self.explicit_rule:
            return None
        found, direction = lookup(declared, self.save_best)
        if not found:
            direction = guess_from_name(self.save_best)
        if direction is None:
            self.rule = "greater"
            return (f"default_hooks.checkpoint.save_best={self.save_best!r}: its metric declares no direction "
                    f"for this key, so higher counts as better; set rule='less' (or 'greater') to say which")
        self.rule = _rule_for(direction)
        return None


def _rule_for(direction: str | None) -> str:
    return "less" if direction == LOWER else "greater"


def prune_periodic(work_dir: Path, keep: int, prefix: str) -> list[Path]:
    """Delete the oldest periodic checkpoints beyond ``keep`` (≤ 0 keeps all)."""
    if keep <= 0:
        return []
    periodic = sorted(work_dir.glob(f"{prefix}_*.pth"), key=checkpoint_number)
    periodic = [p for p in periodic if TMP_TAG not in p.name]
    doomed = periodic[:-keep]
    for path in doomed:
        remove_checkpoint(path)
    return doomed


def remove_checkpoint(path: Path) -> None:
    """Delete a checkpoint file and, for a sharded one, its DCP folder beside it."""
    import shutil

    from mgx.core.distributed.fsdp import dcp_folder

    path.unlink(missing_ok=True)
    shutil.rmtree(dcp_folder(path), ignore_errors=True)


def clean_stale_temporaries(work_dir: Path) -> None:
    """Remove temp files a killed writer left behind (never a finished checkpoint)."""
    for path in work_dir.glob(f"*{TMP_TAG}*"):
        if not path.name.endswith(f"{TMP_TAG}{os.getpid()}"):
            path.unlink(missing_ok=True)
