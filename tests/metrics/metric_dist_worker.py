"""Worker of the 2-process metric test: joins a gloo group and evaluates this rank's shard."""
from __future__ import annotations

import json
import os

import torch
import torch.distributed as dist

from metric_test_nets import TinyGenerator, WaveGenerator, batches, real_images, run_metrics
from mgx.core.distributed import shard_indices

N_REAL = 42

METRICS = [
    dict(type="FID", fake_nums=37, feature_extractor=dict(type="TinyFeatures")),
    dict(type="KID", fake_nums=37, subsets=4, subset_size=20, feature_extractor=dict(type="TinyFeatures")),
    dict(type="PR", fake_nums=37, k=3, feature_extractor=dict(type="TinyFeatures")),
    dict(type="IS", fake_nums=37, splits=3, feature_extractor=dict(type="TinyFeatures")),
    dict(type="MS_SSIM", fake_nums=34),
    dict(type="SWD", fake_nums=20, real_nums=20),
    # 1 MiB: each rank spools its descriptors to disk and the directions go in blocks of ~14
    dict(type="SWD", prefix="SWD-spooled", fake_nums=20, real_nums=20, memory_mb=1.0),
    dict(type="PPL", fake_nums=11, feature_extractor=dict(type="TinyLPIPS"), crop=False),
    # a third-party metric with declared state and no collective of its own
    dict(type="BrightnessProfile", fake_nums=23),
]
EQ = [dict(type="EQ", fake_nums=3, eq_cfg=dict(compute_eqt_int=True, compute_eqt_frac=True))]


def evaluate_shard(tmp: str) -> dict:
    """Results of this process (its shard of the real set; fakes are sharded by the Evaluator)."""
    reals = real_images(N_REAL)
    loader = batches(reals, 5, indices=shard_indices(N_REAL))
    results, _, _ = run_metrics(METRICS, TinyGenerator(), tmp, dataloader=loader, batch_size=7)
    eq, _, _ = run_metrics(EQ, WaveGenerator(), tmp)
    return {**results, **eq}


def worker(rank: int, world: int, port: int, out_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world, init_method=f"tcp://127.0.0.1:{port}")
    try:
        results = evaluate_shard(os.path.join(out_dir, f"rank{rank}"))
        with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as handle:
            json.dump(results, handle)
    finally:
        dist.destroy_process_group()
