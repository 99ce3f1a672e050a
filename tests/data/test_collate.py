"""mgx's collation gives torch's default_collate batch: same keys, types, dtypes and values —
with shared fields stacked once and, in loader workers, numbers made tensors in the main process."""
from __future__ import annotations

import collections
import pickle
import warnings

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, default_collate

from mgx.core.engine.collate import HostNumbers, collate, finish_batch
from mgx.core.engine.data import build_dataloader
from nested_equal import assert_identical

Point = collections.namedtuple("Point", "x y")


def assert_same(ours, reference):
    assert_identical(ours, reference, "batch", exact_types=True)


def _sample(index: int) -> dict:
    image = torch.full((3, 4, 4), index, dtype=torch.uint8)
    return {"inputs": image, "lq_img": image, "gt_img": torch.zeros(3, 8, 8, dtype=torch.uint8) + index,
            "sample_idx": index, "scale": 4, "ratio": 0.5 * index, "flipped": index % 2 == 0,
            "ori_img_shape": (4 + index, 4, 3), "img_path": f"/data/{index}.png", "mask": np.ones((2, 2)) * index,
            "nested": {"crop": [index, 2 * index], "point": Point(index, 1.5)}, "mixed": 0.5 if index == 2 else index}


def test_collate_gives_default_collates_batch():
    samples = [_sample(index) for index in range(3)]
    batch = collate(samples)
    assert_same(batch, default_collate(samples))
    assert batch["sample_idx"].dtype == torch.int64 and batch["ratio"].dtype == torch.float64
    assert batch["flipped"].dtype == torch.bool and batch["mixed"].dtype == torch.float32  # torch's rule for mixed


def test_fields_sharing_a_tensor_are_stacked_once():
    samples = [_sample(index) for index in range(3)]
    batch = collate(samples)
    assert batch["lq_img"] is batch["inputs"]
    assert batch["gt_img"] is not batch["inputs"]
    samples[1]["lq_img"] = samples[1]["lq_img"].clone()  # no longer shared in every sample: stacked apart
    apart = collate(samples)
    assert apart["lq_img"] is not apart["inputs"] and torch.equal(apart["lq_img"], apart["inputs"])


def test_a_worker_defers_numbers_and_finish_batch_makes_the_tensors(monkeypatch):
    import mgx.core.engine.collate as module

    samples = [_sample(index) for index in range(3)]
    monkeypatch.setattr(module, "_in_worker", lambda: True)
    in_worker = collate(samples)
    assert isinstance(in_worker["sample_idx"], HostNumbers) and isinstance(in_worker["ori_img_shape"][0], HostNumbers)
    assert isinstance(in_worker["inputs"], torch.Tensor)  # images stay tensors (shared memory is right for them)
    travelled = pickle.loads(pickle.dumps(in_worker))  # what the worker's queue does
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns when it wraps a read-only array
        finished = finish_batch(travelled)
    assert_same(finished, default_collate(samples))
    finished["sample_idx"] += 1  # a tensor of its own, writable


def test_finish_batch_returns_a_batch_without_deferred_numbers_as_it_is():
    batch = collate([_sample(index) for index in range(2)])
    assert finish_batch(batch) is batch


def test_a_missing_field_is_named():
    with pytest.raises(KeyError, match="sample 1 of the batch has no field 'label'"):
        collate([{"x": 1, "label": 2}, {"x": 3}])


def test_worker_loaders_give_the_batches_of_the_in_process_loader(tmp_path):
    """A restoration pipeline (metadata, shapes, a shared lq_img) through 2 worker processes."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for folder, size in (("gt", 16), ("lq", 4)):
        (tmp_path / folder).mkdir()
        for index in range(6):
            Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(tmp_path / folder / f"{index}.png")
    pipeline = [dict(type="LoadImageFromFile", key="img"), dict(type="LoadImageFromFile", key="gt"),
                dict(type="SetValues", dictionary=dict(scale=4)), dict(type="PackInputs")]
    cfg = dict(batch_size=3, sampler=dict(type="DefaultSampler", shuffle=False),
               dataset=dict(type="BasicImageDataset", data_root=str(tmp_path), data_prefix=dict(img="lq", gt="gt"),
                            pipeline=pipeline))
    in_process = list(build_dataloader(cfg, field="val_dataloader", seed=1, training=False))
    workers = build_dataloader({**cfg, "num_workers": 2}, field="val_dataloader", seed=1, training=False)
    assert isinstance(workers, DataLoader)
    from_workers = list(workers)
    assert len(from_workers) == len(in_process) == 2
    for ours, theirs in zip(from_workers, in_process):
        assert_same(ours, theirs)
        assert ours["lq_img"] is ours["inputs"] and ours["sample_idx"].dtype == torch.int64
