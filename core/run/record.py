"""Which run a work_dir belongs to now: ``<work_dir>/mgx_run.json``.

A work_dir can hold checkpoints of several trainings (train 1000 iterations,
then train again with ``max_iters=200`` in the same folder). Each training gets
a random *run token*, written into this record when it starts and into the meta
of every checkpoint it saves; a resumed training keeps its token. Retention
(``max_keep_ckpts``), the best-checkpoint clean-up and ``--resume`` only touch
checkpoints that carry the current token, so one training never deletes or
reopens another's files.

The record also holds the MLflow run id as soon as the run exists (before the
first checkpoint), so a training killed before its first checkpoint is
continued by ``--resume`` in the same MLflow run instead of leaving an orphan.
"""
from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

from mgx.core.engine.checkpoint import TMP_TAG, atomic_write_bytes, checkpoint_number, read_marker
from mgx.core.engine.checkpoint_state import CheckpointMeta, meta_of

RECORD_NAME = "mgx_run.json"


def new_run_token() -> str:
    """A token no other training shares (drawn from the OS, never from the seeded RNGs)."""
    return secrets.token_hex(8)


def read_run_record(work_dir: Path) -> dict | None:
    """The record of the work_dir's current training, or None (none yet, or unreadable)."""
    path = Path(work_dir) / RECORD_NAME
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("run_token") else None


def write_run_record(work_dir: Path, run_token: str, tracking_run_id: str | None = None, **fields: object) -> None:
    """Replace the record atomically (a kill leaves the old or the new one, never half of one)."""
    record = {"run_token": run_token, "tracking_run_id": tracking_run_id, "updated_at": time.time(), **fields}
    text = json.dumps(record, indent=1, sort_keys=True).encode()
    atomic_write_bytes(Path(work_dir) / RECORD_NAME, lambda handle: handle.write(text))


def checkpoint_meta(path: Path) -> CheckpointMeta | None:
    """The meta of a checkpoint without reading its tensors (memory-mapped); None if unreadable."""
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # noqa: BLE001 - a torn or foreign file belongs to no run
        return None
    return meta_of(state)


def checkpoints_of_run(work_dir: Path, run_token: str, pattern: str = "*.pth") -> list[Path]:
    """Complete checkpoints in ``work_dir`` saved by the training ``run_token``, oldest first."""
    found = []
    for path in Path(work_dir).glob(pattern):
        if TMP_TAG in path.name or not path.is_file():
            continue
        meta = checkpoint_meta(path)
        if meta is not None and meta.run_token == run_token:
            found.append(path)
    return sorted(found, key=lambda p: (checkpoint_number(p), p.stat().st_mtime))


def unreadable_checkpoints(work_dir: Path) -> list[Path]:
    """Complete-named checkpoints in ``work_dir`` that cannot be read at all (truncated or corrupt)."""
    import torch

    found = []
    for path in sorted(Path(work_dir).glob("*.pth")):
        if TMP_TAG in path.name or not path.is_file():
            continue
        try:
            torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except Exception as exc:  # noqa: BLE001 - anything but a refused global is an unreadable file
            if "GLOBAL" not in str(exc):
                found.append(path)
    return found


def newest_of_run(work_dir: Path, run_token: str) -> Path | None:
    """The checkpoint a resume of ``run_token`` starts from: its highest iteration (the marker
    breaks ties, as a kill can land between a checkpoint's rename and the marker update)."""
    own = checkpoints_of_run(work_dir, run_token)
    if not own:
        return None
    marked = read_marker(Path(work_dir))
    return max(own, key=lambda p: (checkpoint_number(p), p == marked, p.stat().st_mtime))
