"""The spool: records the store did not take, kept in the work dir until replayed.

``<work_dir>/mlflow_spool/`` holds

* ``<session>.jsonl`` - one JSON record a line, appended with flush + fsync; the
  first line is a header naming the store the records were meant for;
* ``files/`` - hard links (or copies) of artifacts whose upload failed;
* ``run_ids.json`` - offline run ids -> the real MLflow run ids created on replay.

Record shapes (``run`` is an MLflow run id or an offline id ``offline-<hex>``)::

    {"op": "create_run", "run": id, "experiment": name, "run_name": str|None, "start_time": ms, "tags": {}}
    {"op": "metrics", "run": id, "m": [[key, value, timestamp_ms, step], ...]}
    {"op": "params", "run": id, "p": {key: value}}
    {"op": "tags", "run": id, "t": {key: value}}
    {"op": "artifact", "run": id, "path": local file, "artifact_path": str|None}
    {"op": "image", "run": id, "path": png, "key": str, "step": int, "timestamp": ms, "uuid": str}
    {"op": "terminate", "run": id, "status": str, "end_time": ms}
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Iterable

SPOOL_DIR_NAME = "mlflow_spool"
ID_MAP_NAME = "run_ids.json"
OFFLINE_PREFIX = "offline-"
COPY_LIMIT_BYTES = 256 * 1024 * 1024  # bigger files that cannot be hard-linked are referenced in place


def spool_dir(work_dir: Path) -> Path:
    """The spool folder of a work dir."""
    return Path(work_dir) / SPOOL_DIR_NAME


def new_offline_id() -> str:
    """A run id for a run whose store was unreachable when it started."""
    return OFFLINE_PREFIX + uuid.uuid4().hex


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SpoolWriter:
    """Appends records to this session's spool file (created on first use), thread-safe.

    The file is ``flock``-ed while open so ``mgx sync`` leaves a live run's spool alone.
    """

    def __init__(self, work_dir: Path, tracking_uri: str):
        self.dir = spool_dir(work_dir)
        self.tracking_uri = tracking_uri
        self._lock = threading.Lock()
        self._file = None
        self.path: Path | None = None
        self.records_written = 0

    def append(self, records: Iterable[dict]) -> None:
        """Write records and fsync them before returning."""
        lines = [json.dumps(r, allow_nan=True) + "\n" for r in records]
        if not lines:
            return
        with self._lock:
            if self._file is None:
                self._open()
            self._file.write("".join(lines))
            self._file.flush()
            os.fsync(self._file.fileno())
            self.records_written += len(lines)

    def _open(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 10**9:09d}-{os.getpid()}.jsonl"
        self.path = self.dir / name
        self._file = open(self.path, "a", encoding="utf-8")
        fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        header = {"op": "header", "tracking_uri": self.tracking_uri, "created": time.time(), "pid": os.getpid()}
        self._file.write(json.dumps(header) + "\n")
        _fsync_dir(self.dir)

    def close(self) -> Path | None:
        """Close (and unlock) the current file; the next append starts a new one. Returns the closed path."""
        with self._lock:
            closed = self.path if self._file is not None else None
            if self._file is not None:
                self._file.close()
                self._file = None
                self.path = None
            return closed

    def preserve(self, path: Path) -> Path:
        """Keep a failed upload's file for replay: hard link, else copy (small files), else in place."""
        path = Path(path).resolve()
        target_dir = self.dir / "files" / uuid.uuid4().hex[:12]
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / path.name
        try:
            os.link(path, target)
            return target
        except OSError:
            pass
        try:
            if path.stat().st_size <= COPY_LIMIT_BYTES:
                shutil.copy2(path, target)
                return target
        except OSError:
            pass
        target_dir.rmdir()
        return path


def read_records(path: Path) -> tuple[dict, list[dict]]:
    """(header, records) of a spool file; a torn last line (crash mid-write) is ignored."""
    header: dict = {}
    records: list[dict] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break  # torn write: the record never completed, so it was never acknowledged
            record = json.loads(line)
            if record.get("op") == "header":
                header = record
            else:
                records.append(record)
    return header, records


def pending_files(folder: Path) -> list[Path]:
    """Spool files in ``folder`` (a spool dir), oldest first."""
    folder = Path(folder)
    return sorted(folder.glob("*.jsonl")) if folder.is_dir() else []


def pending_record_count(folder: Path) -> int:
    """Records still waiting in the spool files of ``folder`` (a spool dir)."""
    count = 0
    for path in pending_files(folder):
        try:
            count += len(read_records(path)[1])
        except (OSError, ValueError):
            count += 1  # unreadable: still something `mgx sync` has to look at
    return count


def try_lock(path: Path):
    """Open + exclusively lock a spool file without waiting; None when a live writer holds it."""
    fh = open(path, "r+", encoding="utf-8")
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        return None
    return fh


def load_id_map(folder: Path) -> dict[str, str]:
    """Offline id -> real run id, as recorded by earlier replays."""
    path = Path(folder) / ID_MAP_NAME
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def save_id_map(folder: Path, mapping: dict[str, str]) -> None:
    """Persist the id map atomically (write, fsync, rename)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{ID_MAP_NAME}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(mapping, fh, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, folder / ID_MAP_NAME)
    _fsync_dir(folder)
