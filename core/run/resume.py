"""What a ``mgx run train`` starts from: a fresh training, or which checkpoint and MLflow run to continue.

``--resume`` (auto) continues the work_dir's *current* training (``mgx_run.json``,
see :mod:`mgx.core.run.record`): its newest complete checkpoint, or - killed before
its first checkpoint - from scratch, but in the same MLflow run. Checkpoints other
trainings left in the folder are never picked.
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

from mgx.core import distributed
from mgx.core.engine.checkpoint import (checkpoint_number, find_resumable, load_checkpoint, read_marker,
                                       save_checkpoint, write_marker)
from mgx.core.engine.checkpoint_state import CheckpointMeta, CheckpointState, meta_of
from mgx.core.engine.loops import TrainLoop
from mgx.core.errors import MgxError
from mgx.core.run.record import checkpoints_of_run, new_run_token, read_run_record, unreadable_checkpoints


@dataclass
class StartPoint:
    """Where a training starts: ``checkpoint`` is (path, the loaded dict) or None for iteration 0;
    ``state`` is that checkpoint read (None for iteration 0)."""

    checkpoint: tuple[Path, dict] | None
    run_token: str
    tracking_run_id: str | None
    state: CheckpointState | None = field(init=False)

    def __post_init__(self) -> None:
        found = self.checkpoint
        self.state = CheckpointState.from_dict(found[1], str(found[0])) if found is not None else None

    @property
    def meta(self) -> CheckpointMeta:
        return self.state.meta if self.state is not None else CheckpointMeta()


def _newest_loadable(work_dir: Path, run_token: str) -> tuple[Path, dict] | None:
    """The training's newest checkpoint that loads; corrupt ones are skipped with a warning."""
    marked = read_marker(work_dir)
    own = checkpoints_of_run(work_dir, run_token)
    found = None
    for path in sorted(own, key=lambda p: (checkpoint_number(p), p == marked, p.stat().st_mtime), reverse=True):
        try:
            found = path, load_checkpoint(path, whole_weights=False)
            break
        except MgxError as exc:
            warnings.warn(f"skipping checkpoint {path}: {exc}", RuntimeWarning, stacklevel=2)
    # a truncated file has no readable meta, so it is nobody's checkpoint above: name the ones
    # newer than what resumes, as they may be this training's latest, torn by a kill
    newest = checkpoint_number(found[0]) if found is not None else -1
    for path in unreadable_checkpoints(work_dir):
        if checkpoint_number(path) >= newest:
            warnings.warn(f"skipping checkpoint {path}: it is truncated or corrupt (unreadable); resuming from "
                          f"{found[0].name if found else 'scratch'}", RuntimeWarning, stacklevel=2)
    if found is not None and distributed.get_rank() == 0 and marked != found[0]:
        write_marker(work_dir, found[0])  # the marker names a file that loads
    return found


def complete_final_checkpoint(start: StartPoint, work_dir: Path, save_last: bool, logger: logging.Logger) -> None:
    """A finished training resumed from other than its final periodic file (a kill during that
    file's write leaves the best checkpoint at the same iteration newest): write the final file
    from the same state and point the marker at it, as the end of the training would have."""
    meta = start.meta
    if start.checkpoint is None or not save_last or distributed.get_rank() != 0:
        return
    final = work_dir / (f"epoch_{meta.epoch}.pth" if meta.by_epoch else f"iter_{meta.iteration}.pth")
    if start.checkpoint[0] == final and final.is_file():
        return
    state = CheckpointState.from_dict(start.checkpoint[1], str(start.checkpoint[0]))
    state.meta = replace(state.meta, kind="last")
    save_checkpoint(state.to_dict(), final)
    write_marker(work_dir, final)
    logger.warning(f"--resume: the final checkpoint of the training in {work_dir} was missing (killed while "
                   f"writing it?); wrote {final.name} from {start.checkpoint[0].name}")


def start_point(resume: str | None, work_dir: Path, logger: logging.Logger) -> StartPoint:
    """Resolve ``--resume`` (None, "auto" or a checkpoint path) for ``work_dir``; same answer on every rank."""
    found: tuple[Path, dict] | None = None
    token: str | None = None
    tracking_run_id: str | None = None
    if resume == "auto":
        record = read_run_record(work_dir)
        if record is not None:
            token = str(record["run_token"])
            tracking_run_id = record.get("tracking_run_id")
            found = _newest_loadable(work_dir, token)
            if found is None:
                where = f" (MLflow run {tracking_run_id} continues)" if tracking_run_id else ""
                logger.info(f"--resume: the training in {work_dir} saved no checkpoint yet: starting from "
                            f"scratch{where}")
        else:  # a work_dir written before run records existed, or none at all
            found = find_resumable(work_dir)
            if found is None:
                logger.info(f"--resume: no checkpoint in {work_dir} yet, starting from scratch")
    elif resume is not None:
        found = Path(resume), load_checkpoint(Path(resume), whole_weights=False)
    if found is not None:
        meta = meta_of(found[1]) or CheckpointMeta()
        token = meta.run_token or token
        tracking_run_id = meta.tracking_run_id or tracking_run_id
    token = distributed.broadcast_object(token or new_run_token())
    return StartPoint(found, token, tracking_run_id)


def already_finished(start: StartPoint, loop: TrainLoop, work_dir: Path) -> str | None:
    """A message when the checkpoint to resume from is the end of the schedule (nothing left to
    train), else None. A checkpoint whose final validation was interrupted is not the end."""
    if start.checkpoint is None or start.meta.validation_pending:
        return None
    meta = start.meta
    done = loop.done_count(meta.iteration, meta.epoch)
    name, limit = loop.limit()
    key, unit = f"train_cfg.{name}", loop.unit
    if done < limit:
        return None
    return (f"--resume: the training in {work_dir} already finished at {unit} {done} ({key}={limit}, "
            f"checkpoint {start.checkpoint[0].name}); nothing to do, its checkpoints and MLflow run are left as "
            f"they are. To train longer, resume with a higher limit: --resume --cfg-options {key}={limit * 2}")


__all__ = ["StartPoint", "already_finished", "complete_final_checkpoint", "start_point"]
