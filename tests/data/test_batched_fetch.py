"""Datasets hand mgx's loaders collated batches (get_batch): the digits fast path equals per-sample
collation, and the in-process loader (num_workers=0) gives what a torch DataLoader gives."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, default_collate

from mgx.core.engine.data import InProcessLoader, build_dataloader


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


def _batches_equal(left, right):
    assert len(left) == len(right)
    for a, b in zip(left, right):
        assert sorted(a) == sorted(b)
        for key in a:
            assert torch.equal(a[key], b[key]), key


@pytest.mark.parametrize("pipeline", [[dict(type="PackInputs")],  # get_batch fast path
                                      [dict(type="Flip", flip_ratio=0.5), dict(type="PackInputs")]])
@pytest.mark.parametrize("drop_last", [False, True])
def test_in_process_loader_gives_what_a_torch_dataloader_gives(pipeline, drop_last):
    cfg = dict(batch_size=50, drop_last=drop_last, sampler=dict(type="DefaultSampler", shuffle=True),
               dataset=dict(type="DigitsDataset", image_size=8, split="val", pipeline=pipeline))
    loader = build_dataloader(cfg, field="val_dataloader", seed=5, training=True)
    assert isinstance(loader, InProcessLoader)
    reference = DataLoader(loader.dataset, batch_size=50, sampler=loader.sampler, drop_last=drop_last, num_workers=0)
    assert len(loader.sampler) == 180 and len(loader) == len(reference) == (3 if drop_last else 4)
    np.random.seed(0)  # Flip without an epoch field draws from numpy's global RNG
    ours = list(loader)
    np.random.seed(0)
    _batches_equal(ours, list(reference))
    assert [len(batch["label"]) for batch in ours] == ([50] * 3 if drop_last else [50, 50, 50, 30])


def test_worker_processes_still_use_torch_dataloader_and_give_the_same_batches():
    cfg = dict(batch_size=32, sampler=dict(type="DefaultSampler", shuffle=True),
               dataset=dict(type="DigitsDataset", image_size=8, split="val", pipeline=[dict(type="PackInputs")]))
    in_process = build_dataloader(cfg, field="val_dataloader", seed=5, training=True)
    workers = build_dataloader({**cfg, "num_workers": 2}, field="val_dataloader", seed=5, training=True)
    assert isinstance(workers, DataLoader)
    _batches_equal(list(in_process), list(workers))
