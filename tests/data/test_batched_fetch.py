"""Datasets hand mgx's loaders collated batches (get_batch): the digits fast path equals per-sample collation."""
from __future__ import annotations

import torch
from torch.utils.data import default_collate

from mgx.core.data import build_dataloader


def _loader(pipeline):
    cfg = dict(batch_size=16, dataset=dict(type="DigitsDataset", image_size=8, split="train", pipeline=pipeline),
               sampler=dict(type="DefaultSampler", shuffle=True))
    return build_dataloader(cfg, field="train_dataloader", seed=3, training=True)


def test_digits_fast_path_equals_per_sample_collation():
    loader = _loader([dict(type="PackInputs")])
    for batch in list(loader)[:3]:
        reference = default_collate([loader.dataset[i] for i in batch["sample_idx"].tolist()])
        assert sorted(batch) == sorted(reference)
        for key in reference:
            assert torch.equal(batch[key], reference[key]), key


def test_other_pipelines_still_collate_per_sample():
    loader = _loader([dict(type="Flip", flip_ratio=0.0), dict(type="PackInputs")])
    batch = next(iter(loader))
    assert batch["inputs"].shape == (16, 3, 8, 8) and batch["label"].shape == (16,)
