"""Metric state kept per process and combined across processes before ``compute``.

A metric declares its state with ``BaseMetric.add_sum_state``/``add_rows_state``
(see ``mgx.core.evaluation.metric``); the Evaluator resets it before ``setup`` and
syncs it before ``compute``, so ``compute`` sees every process's data and gives the
same result on 1 or N processes:

* a sum state is a float64 tensor on this process; synced, the sum over processes;
* a rows state is an :class:`IndexedRows` (rows added with their global sample
  indices); synced, one tensor of every process's rows ordered by index (None when
  no process added any).

Rows are kept in :class:`RowSlabs`, 64 MiB blocks.
Why: a metric that keeps each batch's small result tensor (features, probabilities) interleaves
those small long-lived blocks with the batch's larger temporaries on glibc's heap, whose
mmap threshold grows with the temporaries; the heap then cannot reuse or return the holes,
and the process's memory grew to 4-15× the rows kept (measured: PR with 256-d features at
20k images, +709 MB RSS for 41 MB of rows). Blocks of 64 MiB are always mmapped by glibc
(above its largest threshold), so the heap only sees short-lived allocations, and pages
of a block count only once written.
"""
from __future__ import annotations

from typing import Any, Iterator

import torch

from mgx.core import distributed
from mgx.core.errors import MgxError

SLAB_BYTES = 64 * 2**20


class RowSlabs:
    """Append-only rows of one shape, stored in 64 MiB blocks; float64 rows promote the store to float64."""

    def __init__(self) -> None:
        self._slabs: list[torch.Tensor] = []
        self._filled = 0  # rows used in the last slab
        self.rows = 0
        self.row_shape: tuple[int, ...] | None = None
        self.dtype: torch.dtype | None = None

    def add(self, rows: torch.Tensor) -> None:
        rows = rows.detach()
        if self.row_shape is None:
            self.row_shape, self.dtype = tuple(rows.shape[1:]), rows.dtype
        if tuple(rows.shape[1:]) != self.row_shape:
            raise ValueError(f"row shape changed from {self.row_shape} to {tuple(rows.shape[1:])}")
        if rows.dtype != self.dtype and torch.promote_types(rows.dtype, self.dtype) != self.dtype:
            self._promote(torch.promote_types(rows.dtype, self.dtype))
        offset = 0
        while offset < rows.shape[0]:
            if not self._slabs or self._filled == self._slabs[-1].shape[0]:
                row_bytes = max(1, self._row_numel() * self.dtype.itemsize)
                self._slabs.append(torch.empty((max(1, SLAB_BYTES // row_bytes),) + self.row_shape, dtype=self.dtype))
                self._filled = 0
            slab = self._slabs[-1]
            count = min(rows.shape[0] - offset, slab.shape[0] - self._filled)
            slab[self._filled:self._filled + count] = rows[offset:offset + count]
            self._filled += count
            offset += count
        self.rows += rows.shape[0]

    def _row_numel(self) -> int:
        numel = 1
        for size in self.row_shape:
            numel *= size
        return numel

    def _promote(self, dtype: torch.dtype) -> None:
        self._slabs = [slab.to(dtype) for slab in self._slabs]
        self.dtype = dtype

    def chunks(self) -> Iterator[torch.Tensor]:
        """The rows in insertion order, a view per block."""
        for index, slab in enumerate(self._slabs):
            yield slab[:self._filled] if index == len(self._slabs) - 1 else slab

    def take_chunks(self) -> Iterator[torch.Tensor]:
        """Like ``chunks``, handing each block over: the store is empty afterwards and a block is freed
        once the caller drops it."""
        slabs, filled = self._slabs, self._filled
        self._slabs, self._filled, self.rows = [], 0, 0
        while slabs:
            slab = slabs.pop(0)
            yield slab[:filled] if not slabs else slab

    def clear(self) -> None:
        self._slabs, self._filled, self.rows = [], 0, 0


class IndexedRows:
    """Rows (features, distances …) of this rank, remembered with their global indices.

    Rows are kept float32 (float64 when given so) in large blocks (see ``RowSlabs``).
    """

    def __init__(self) -> None:
        self._rows = RowSlabs()
        self._indices = RowSlabs()

    def add(self, rows: torch.Tensor, indices: torch.Tensor) -> None:
        rows = rows.detach().cpu()
        self._rows.add(rows if rows.dtype == torch.float64 else rows.float())
        self._indices.add(torch.as_tensor(indices).reshape(-1).long().cpu())

    def __len__(self) -> int:
        return self._indices.rows

    def gather(self) -> torch.Tensor:
        """All ranks' rows ordered by global index: the same tensor on 1 or N processes (an
        ``MgxError`` when no process has any)."""
        rows = self.synced()
        if rows is None:
            raise MgxError("the metric received no samples on any process: check fake_nums/real_nums and the "
                           "dataloader")
        return rows

    def synced(self) -> torch.Tensor | None:
        """``gather``, or None when no process has any rows.

        The rows are handed over: each block is copied into the result and dropped, so the peak
        is about one copy of the rows (plus, across processes, the serialised exchange), and
        this object is empty afterwards.
        """
        index_chunks = list(self._indices.take_chunks())
        indices = torch.cat(index_chunks) if index_chunks else torch.zeros(0, dtype=torch.long)
        chunks = list(self._rows.take_chunks())
        if distributed.get_world_size() > 1:
            local = torch.cat(chunks) if chunks else None
            chunks.clear()
            parts = [part for part in distributed.all_gather_object((indices, local)) if part[1] is not None]
            indices = torch.cat([part[0] for part in parts]) if parts else indices
            chunks = [part[1] for part in parts]
            del parts, local
        if not chunks:
            return None
        # Where each row goes: its rank in the global index order (stable for repeated indices).
        destination = torch.empty_like(indices)
        destination[torch.argsort(indices, stable=True)] = torch.arange(indices.numel())
        dtype = torch.float64 if any(chunk.dtype == torch.float64 for chunk in chunks) else torch.float32
        out = torch.empty((indices.numel(),) + tuple(chunks[0].shape[1:]), dtype=dtype)
        offset = 0
        for position in range(len(chunks)):
            chunk, chunks[position] = chunks[position], None
            out[destination[offset:offset + chunk.shape[0]]] = chunk.to(dtype)
            offset += chunk.shape[0]
        return out


SUM, ROWS = "sum", "rows"  # the kinds BaseMetric.add_sum_state/add_rows_state declare


def fresh_state(kind: str, shape: tuple[int, ...] | None) -> Any:
    """A metric state as a process starts it: zeros for a sum (None while its shape is unknown),
    an empty store for rows."""
    if kind == ROWS:
        return IndexedRows()
    return None if shape is None else torch.zeros(shape, dtype=torch.float64)


def synced_state(kind: str, value: Any, shape: tuple[int, ...] | None, where: str) -> Any:
    """The state ``value`` combined over processes (every process must call this, in the same order)."""
    if kind == ROWS:
        return value.synced()
    if (value is not None or shape is not None) and (not isinstance(value, torch.Tensor)
                                                     or value.dtype != torch.float64):
        raise MgxError(f"{where} is a sum state: keep it a float64 tensor (add to it in place or with +=), "
                       f"got {type(value).__name__}")
    if shape is None:  # sized by the first addition: a process that added nothing adds zeros
        shapes = [s for s in distributed.all_gather_object(None if value is None else tuple(value.shape)) if s]
        if not shapes:
            return None
        if value is None:
            value = torch.zeros(shapes[0], dtype=torch.float64)
    return distributed.all_reduce_sum(value)


__all__ = ["IndexedRows", "RowSlabs", "SLAB_BYTES", "fresh_state", "synced_state"]
