"""Rows of fixed width kept in memory up to a limit, then spooled to a temporary file on disk.

A metric whose definition needs every row twice (SWD: once for the
per-channel statistics, then once per block of projection directions) keeps
its memory bounded with this: rows beyond ``limit_bytes`` go to disk and are
read back chunk by chunk into one reused buffer. File pages read back sit in
the OS page cache, not in the process's memory. The file has no name (it is
unlinked as it is created), so the OS reclaims it even when the process is
killed.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from mgx.core.errors import MgxError

from mgx.core.evaluation import RowSlabs

_READ_ROWS_BYTES = 32 * 1024 * 1024  # size of one chunk read back from disk


class RowSpool:
    """float32 rows of one width: in memory while small, in a temporary file beyond ``limit_bytes``."""

    def __init__(self, limit_bytes: int, directory: str | os.PathLike | None = None, owner: str = "a metric") -> None:
        self.limit_bytes = max(0, int(limit_bytes))
        self.directory = Path(directory) if directory is not None else None
        self.owner = owner
        self.width: int | None = None
        self.rows = 0
        self._memory = RowSlabs()
        self._file = None

    @property
    def on_disk(self) -> bool:
        return self._file is not None

    @property
    def memory_bytes(self) -> int:
        return sum(rows.numel() * 4 for rows in self._memory.chunks())

    def add(self, rows: torch.Tensor) -> None:
        rows = rows.detach().to("cpu", torch.float32).reshape(rows.shape[0], -1)
        if self.width is None:
            self.width = rows.shape[1]
        if rows.shape[1] != self.width:
            raise ValueError(f"row width changed from {self.width} to {rows.shape[1]}")
        self.rows += rows.shape[0]
        if self._file is None and self.rows * self.width * 4 > self.limit_bytes:
            self._spill()
        if self._file is not None:
            self._write(rows.contiguous())
        else:
            self._memory.add(rows)

    def _spill(self) -> None:
        where = self.directory if self.directory is not None else Path(tempfile.gettempdir())
        try:
            where.mkdir(parents=True, exist_ok=True)
            self._file = tempfile.TemporaryFile(prefix="mgx-rows-", dir=where)
        except OSError as error:
            raise MgxError(f"{self.owner} cannot create a temporary file in {where}: {error}") from error
        for rows in self._memory.take_chunks():
            self._write(rows.contiguous())

    def _write(self, rows: torch.Tensor) -> None:
        try:
            self._file.write(memoryview(rows.numpy()).cast("B"))
        except OSError as error:
            raise MgxError(f"{self.owner} could not write {self.rows * self.width * 4 / 2**30:.1f} GiB of rows to a "
                           f"temporary file in {self.directory or tempfile.gettempdir()}: {error}. Free disk space "
                           f"there, or raise the metric's memory_mb so that more stays in memory") from error

    def chunks(self) -> Iterator[torch.Tensor]:
        """Every row in insertion order, in chunks. A chunk read from disk lives only until the next one."""
        if self._file is None:
            yield from self._memory.chunks()
            return
        self._file.flush()
        descriptor = self._file.fileno()
        per_chunk = max(1, _READ_ROWS_BYTES // (4 * self.width))
        buffer = np.empty((per_chunk, self.width), dtype=np.float32)
        position, left = 0, self.rows
        while left:
            count = min(per_chunk, left)
            view = memoryview(buffer[:count]).cast("B")
            read = 0
            while read < len(view):
                got = os.preadv(descriptor, [view[read:]], position + read)
                if not got:
                    raise MgxError(f"{self.owner}: its temporary file ended early (was it truncated?)")
                read += got
            position += read
            left -= count
            yield torch.from_numpy(buffer[:count])

    def close(self) -> None:
        """Free the rows and delete the file (safe to call twice)."""
        self._memory.clear()
        if self._file is not None:
            self._file.close()  # unnamed: closing frees its disk space
            self._file = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
