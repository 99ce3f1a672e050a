"""The base of every built-in dataset: a raw sample per index, then the ``pipeline`` transforms."""
from __future__ import annotations

from typing import Sequence

from mgx.core.errors import MgxError
from mgx.core.registry import build_list


class PipelineDataset:
    """Base: ``raw_sample(idx)`` then every transform of ``pipeline`` in order."""

    def __init__(self, pipeline: Sequence[dict] | None = ()) -> None:
        self.pipeline_cfg = list(pipeline or [])
        self.pipeline = build_list(self.pipeline_cfg, "transform")

    def __len__(self) -> int:
        raise NotImplementedError

    def raw_sample(self, idx: int) -> dict:
        raise NotImplementedError

    def __getitem__(self, idx: int) -> dict:
        idx = int(idx)
        if not -len(self) <= idx < len(self):
            raise IndexError(f"{type(self).__name__} index {idx} out of range for {len(self)} samples")
        idx %= len(self)
        sample = self.raw_sample(idx)
        sample["sample_idx"] = idx
        for transform in self.pipeline:
            sample = transform(sample)
            if not isinstance(sample, dict):
                raise MgxError(f"transform {type(transform).__name__} returned {type(sample).__name__}, not a dict")
        return sample

    def get_batch(self, indices: Sequence[int]) -> dict:
        """A collated batch; mgx's loaders fetch whole batches through this (see mgx.core.engine.data)."""
        from mgx.core.engine.collate import collate

        return collate([self[index] for index in indices])
