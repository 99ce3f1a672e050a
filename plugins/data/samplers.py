"""Samplers that shard a dataset over ranks and can seek without touching data.

Both samplers draw each epoch's order from ``(seed, epoch)`` alone, so any rank
can compute any position of its stream directly. That is what makes resume
cheap: the engine calls ``seek(n)`` with the number of indices this rank already
consumed, instead of replaying ``n`` samples through the DataLoader.

Sharding follows ``torch.utils.data.DistributedSampler``: rank ``r`` takes the
strided slice ``order[r::world_size]`` of the epoch order, padded (``round_up``)
by repeating the order from its start so that every rank gets the same count.
``rank``/``world_size`` come from torch.distributed unless given explicitly.
"""
from __future__ import annotations

import math
import random
from typing import Any, Iterator

import numpy as np

from mgx.core.distributed import broadcast_object, get_rank, get_world_size
from mgx.core.errors import ConfigError


def _resolve_seed(seed: int | None) -> int:
    """A non-negative int seed; ``None`` draws one on rank 0 and shares it with every rank."""
    if seed is None:
        seed = broadcast_object(random.SystemRandom().randrange(2**31))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ConfigError(f"sampler seed must be an integer or None, got {seed!r}")
    return int(seed) % 2**63


def _dataset_length(dataset: Any) -> int:
    try:
        return len(dataset)
    except TypeError:
        raise ConfigError(f"sampler: dataset {type(dataset).__name__} has no length (len() failed); "
                          "map-style datasets with __len__ are required") from None


class _ShardedEpochs:
    """Per-rank order of any epoch, computed from (seed, epoch) only."""

    def __init__(self, dataset: Any, shuffle: bool, seed: int | None, round_up: bool,
                 rank: int | None, world_size: int | None) -> None:
        self.dataset = dataset
        self.shuffle = bool(shuffle)
        self.seed = _resolve_seed(seed)
        self.round_up = bool(round_up)
        self.world_size = get_world_size() if world_size is None else int(world_size)
        self.rank = get_rank() if rank is None else int(rank)
        if self.world_size < 1 or not 0 <= self.rank < self.world_size:
            raise ConfigError(f"sampler: rank {self.rank} is not within world_size {self.world_size}")
        self.num_samples = _dataset_length(dataset)
        if self.round_up:
            self.total_size = math.ceil(self.num_samples / self.world_size) * self.world_size
        else:
            self.total_size = self.num_samples
        self.per_rank = len(range(self.rank, self.total_size, self.world_size))
        self._skip = 0

    def epoch_order(self, epoch: int) -> np.ndarray:
        """This rank's indices for ``epoch``, in iteration order."""
        if self.shuffle:
            order = np.random.default_rng([self.seed, int(epoch)]).permutation(self.num_samples)
        else:
            order = np.arange(self.num_samples)
        if self.total_size > self.num_samples and self.num_samples:
            order = np.resize(order, self.total_size)  # repeats the order cyclically, like DistributedSampler
        return order[self.rank:self.total_size:self.world_size]

    def __len__(self) -> int:
        """Indices this rank receives in one epoch."""
        return self.per_rank

    def _take_skip(self) -> int:
        skip, self._skip = self._skip, 0
        return skip

    def _check_seek(self, n: Any) -> int:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"seek(n) needs a non-negative integer, got {n!r}")
        return int(n)


class DefaultSampler(_ShardedEpochs):
    """One epoch of indices for this rank; call ``set_epoch`` before each epoch.

    Every sample appears exactly once per epoch over all ranks (plus the padding
    ``round_up`` adds so ranks get equal counts). ``seek(n)`` makes the next
    iteration start after the first ``n`` indices of this rank's epoch order.
    """

    def __init__(self, dataset: Any, shuffle: bool = True, seed: int | None = None, round_up: bool = True,
                 *, rank: int | None = None, world_size: int | None = None) -> None:
        super().__init__(dataset, shuffle, seed, round_up, rank, world_size)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def seek(self, n: int) -> None:
        """Skip the first ``n`` (0 ≤ n ≤ len(self)) indices of the next iteration."""
        n = self._check_seek(n)
        if n > self.per_rank:
            raise ValueError(f"DefaultSampler.seek({n}): an epoch has only {self.per_rank} indices on this rank; "
                             "set_epoch() to the right epoch and seek within it")
        self._skip = n

    def __iter__(self) -> Iterator[int]:
        start = self._take_skip()
        return iter(self.epoch_order(self.epoch)[start:].tolist())

    def state_dict(self) -> dict:
        return {"seed": self.seed, "epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        self.seed = int(state["seed"])
        self.epoch = int(state.get("epoch", 0))


class InfiniteSampler(_ShardedEpochs):
    """An endless stream of epochs for iteration-based training.

    Epoch ``e`` of the stream is the sharded order of permutation ``(seed, e)``;
    ``len()`` is one epoch's length on this rank, so index ``i`` of the stream
    belongs to epoch ``i // len(sampler)``. ``seek(n)`` jumps straight to that
    epoch and offset: its cost does not depend on ``n``.
    """

    def __init__(self, dataset: Any, shuffle: bool = True, seed: int | None = None, round_up: bool = True,
                 *, rank: int | None = None, world_size: int | None = None) -> None:
        super().__init__(dataset, shuffle, seed, round_up, rank, world_size)
        if self.per_rank == 0:
            raise ConfigError(f"InfiniteSampler: the dataset has {self.num_samples} samples, fewer than the "
                              f"{self.world_size} ranks, so rank {self.rank} gets none; use round_up=True")

    def seek(self, n: int) -> None:
        """Start the next iteration after the first ``n`` indices of this rank's stream."""
        self._skip = self._check_seek(n)

    def __iter__(self) -> Iterator[int]:
        epoch, offset = divmod(self._take_skip(), self.per_rank)
        return self._stream(epoch, offset)

    def _stream(self, epoch: int, offset: int) -> Iterator[int]:
        while True:
            yield from self.epoch_order(epoch)[offset:].tolist()
            epoch, offset = epoch + 1, 0

    def state_dict(self) -> dict:
        return {"seed": self.seed}

    def load_state_dict(self, state: dict) -> None:
        self.seed = int(state["seed"])
