"""Clips on disk and the evaluation of one process's share of them, for the video-metric tests: a
BasicFramesDataset cuts clips of uneven lengths into chunks (max_seq_len), each process evaluates the
chunks its shard holds (so a clip's chunks may sit on both ranks), and PSNR/SSIM count clips."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from PIL import Image

from metric_test_nets import run_metrics
from mgx.core.distributed import shard_indices

CLIP_LENGTHS = {"a": 3, "b": 2, "c": 5, "d": 1, "e": 4}
MAX_SEQ_LEN = 2
METRICS = [dict(type="PSNR"), dict(type="SSIM"), dict(type="PSNR", prefix="Y", convert_to="Y", crop_border=2)]


def write_clips(root: Path) -> None:
    """root/gt/<clip>/00000000.png, ... (16×16) and root/noisy/<clip>/...: the frame plus noise of a
    per-clip strength, so clip means and the frame-pooled mean differ."""
    rng = np.random.default_rng(3)
    for index, (clip, frames) in enumerate(CLIP_LENGTHS.items()):
        for kind in ("gt", "noisy"):
            (root / kind / clip).mkdir(parents=True, exist_ok=True)
        for i in range(frames):
            frame = rng.integers(40, 216, (16, 16, 3))
            noisy = np.clip(frame + rng.normal(0, 2 + 6 * index, frame.shape), 0, 255)
            Image.fromarray(frame.astype(np.uint8)).save(root / "gt" / clip / f"{i:08d}.png")
            Image.fromarray(noisy.round().astype(np.uint8)).save(root / "noisy" / clip / f"{i:08d}.png")


def chunk_dataset(root: Path):
    from mgx.core.registry import build

    return build(dict(type="BasicFramesDataset", data_root=str(root), data_prefix=dict(img="noisy", gt="gt"),
                      depth=1, max_seq_len=MAX_SEQ_LEN,
                      pipeline=[dict(type="GenerateSegmentIndices", interval_list=[1]),
                                dict(type="LoadImageFromFile", key="img", channel_order="rgb"),
                                dict(type="LoadImageFromFile", key="gt", channel_order="rgb"),
                                dict(type="PackInputs")]), "dataset")


def evaluate_shard(root: Path, tmp: str) -> dict:
    """This process's chunks (batches of one chunk: chunk lengths differ), through mgx's Evaluator."""
    from mgx.core.plugins import PluginManager

    PluginManager(default_plugins=["mgx.plugins.data", "mgx.plugins.metrics"]).activate()
    dataset = chunk_dataset(root)
    batches = []
    for index in shard_indices(len(dataset)):
        sample = dataset[index]
        batches.append({"inputs": sample["inputs"][None], "gt_img": sample["gt_img"][None],
                        "clip_frames": torch.tensor([sample["clip_frames"]])})
    results, _, _ = run_metrics(METRICS, None, tmp, dataloader=batches,
                                val_step=lambda batch: {"pred_img": batch["inputs"].float()})
    return {**results, "chunks": len(batches)}


def worker(rank: int, world: int, port: int, root: str, out_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world, init_method=f"tcp://127.0.0.1:{port}")
    try:
        results = evaluate_shard(Path(root), os.path.join(out_dir, f"rank{rank}"))
        with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as handle:
            json.dump(results, handle)
    finally:
        dist.destroy_process_group()
