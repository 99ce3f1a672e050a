"""Samples into a batch: torch's ``default_collate``, made cheap to hand across processes.

The batch is the one ``default_collate`` builds (same keys, types, dtypes and values), with two
differences in how it is made:

- A field that is the same object as another field in every sample (``PackInputs`` makes
  ``lq_img`` the ``inputs`` tensor of a restoration pair, ``gt_img`` the ``inputs`` of
  unconditional data) is stacked once, and the batch's two fields are the same tensor too.
- Python numbers (``sample_idx``, ``scale``, the entries of ``ori_img_shape``...) become their
  tensors in the process that uses the batch. A DataLoader worker hands every tensor to the main
  process through a shared-memory segment of its own; for a few bytes of metadata that costs more
  than the image (measured with ``benchmarks/bench_data_pipeline.py``: the 9 metadata tensors of a
  restoration batch took ~0.5 ms of CPU an image, a sixth of the whole data path). In a worker
  they travel as numpy arrays, pickled with the batch, and ``finish_batch`` (which mgx's loaders
  call) makes the tensors.
"""
from __future__ import annotations

import functools
from typing import Any, Sequence

import numpy as np


class HostNumbers:
    """Collated Python numbers on their way from a loader worker: ``finish_batch`` makes the tensor."""

    __slots__ = ("array",)

    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    def __reduce__(self):
        # raw bytes and the dtype's code: a third of numpy's own pickle, in time and size
        return _host_numbers_from_bytes, (self.array.tobytes(), self.array.dtype.str, self.array.shape)


def _host_numbers_from_bytes(data: bytes, dtype: str, shape: tuple) -> HostNumbers:
    return HostNumbers(np.frombuffer(bytearray(data), dtype=dtype).reshape(shape))  # writable, as torch wants


def _numbers(dtype: Any, torch_fn: Any):
    def collate_numbers(batch: Sequence[Any], *, collate_fn_map: Any = None) -> Any:
        kind = type(batch[0])
        if any(type(value) is not kind for value in batch):  # mixed: torch's own rule decides the dtype
            return torch_fn(batch, collate_fn_map=collate_fn_map)
        array = np.asarray(batch, dtype=dtype)
        if _in_worker():
            return HostNumbers(array)
        import torch

        return torch.from_numpy(array)
    return collate_numbers


def _in_worker() -> bool:
    from torch.utils.data import get_worker_info

    return get_worker_info() is not None


@functools.cache
def _collate_map() -> dict:
    """torch's default map, with int/float/bool collated as ``default_collate`` does (int64,
    float64, bool tensors) but deferred in workers."""
    from torch.utils.data._utils.collate import default_collate_fn_map

    own = {bool: _numbers(np.bool_, default_collate_fn_map[int]),
           int: _numbers(np.int64, default_collate_fn_map[int]),
           float: _numbers(np.float64, default_collate_fn_map[float])}
    # bool first: it is an int subclass, and torch's lookup walks the map in order
    return {**own, **{k: v for k, v in default_collate_fn_map.items() if k not in own}}


def collate(samples: Sequence[Any]) -> Any:
    """``default_collate(samples)``, with shared fields stacked once and numbers deferred in workers."""
    from torch.utils.data._utils.collate import collate as torch_collate

    first = samples[0] if len(samples) else None
    if not isinstance(first, dict):
        return torch_collate(samples, collate_fn_map=_collate_map())
    batch: dict[str, Any] = {}
    owner_of: dict[int, str] = {}  # id of a value in the first sample -> the field collated from it
    for key, value in first.items():
        owner = owner_of.get(id(value))
        if owner is not None and _same_object_in_all(samples, key, owner):
            batch[key] = batch[owner]
            continue
        owner_of.setdefault(id(value), key)
        try:
            values = [sample[key] for sample in samples]
        except KeyError:
            missing = next(index for index, sample in enumerate(samples) if key not in sample)
            raise KeyError(f"sample {missing} of the batch has no field {key!r}, which sample 0 has") from None
        batch[key] = torch_collate(values, collate_fn_map=_collate_map())
    return batch


def _same_object_in_all(samples: Sequence[dict], key: str, owner: str) -> bool:
    return all(key in sample and owner in sample and sample[key] is sample[owner] for sample in samples)


_MAY_HOLD_NUMBERS = (HostNumbers, dict, list, tuple)


def finish_batch(batch: Any) -> Any:
    """Make the tensors of the numbers a worker deferred (see the module docstring). Containers
    that hold none are returned as they are."""
    if isinstance(batch, HostNumbers):
        import torch

        return torch.from_numpy(batch.array)
    if isinstance(batch, dict):
        finished = {key: finish_batch(value) for key, value in batch.items()}
        return batch if all(finished[key] is value for key, value in batch.items()) else finished
    if isinstance(batch, (list, tuple)):
        if not any(isinstance(value, _MAY_HOLD_NUMBERS) for value in batch):  # e.g. the paths: nothing to walk
            return batch
        finished = [finish_batch(value) for value in batch]
        if all(new is old for new, old in zip(finished, batch)):
            return batch
        if isinstance(batch, list):
            return finished
        return type(batch)(*finished) if hasattr(batch, "_fields") else tuple(finished)  # a namedtuple keeps its type
    return batch
