"""The image data path: mgx's MMagic pipeline vs a plain PIL + torch DataLoader doing the same work.

The work: decode a PNG pair (GT 256 px, LQ ×4 = 64 px), a paired random crop (GT 128 px), a
random horizontal flip of both, and CHW uint8 tensors batched by 16 — what MMagic's restoration
configs ask for (`LoadImageFromFile` ×2, `PairedRandomCrop`, `Flip`, `PackInputs`,
`BasicImageDataset` + `DefaultSampler`). mgx builds its loader from the config dicts through
the engine (`build_dataloader`); the reference is a hand-written `torch.utils.data.Dataset`.

Like with like: both decode with Pillow (`Image.open` + RGB, uint8 H×W×3), crop the same window
sizes at aligned random places, flip both images together with probability 0.5, hand out C×H×W
uint8 tensors and collate with torch's `default_collate` in the worker. What mgx does beyond the
reference, as MMagic does: it records each sample's metadata (paths, original shapes, channel
order, colour type, `sample_idx`, `scale`) and collates it too (`mgx.core.engine.collate`: the
numbers travel from the worker pickled with the batch, not as tensors of their own), checks each
transform's input (shapes, scale, field types, naming the files when they do not fit), and copies
each transform's output (no array aliases another field). Randomness: both draw from numpy's
global RNG, which PyTorch seeds per worker (these samples carry no `seed`/`epoch` field).

Both run at 1 and 2 worker processes, alternating (ABAB...) in this one process for several
rounds. Per round and loader: images/s (wall clock, what a training sees) and CPU ms per image
(this process plus its loader's workers; on a machine shared with other jobs this is the figure
that stays put). Printed: medians over rounds and the ratios mgx / reference (goal ≥ 0.95).

    python benchmarks/bench_data_pipeline.py [--rounds 7] [--batches 20] [--images 96]
    python benchmarks/bench_data_pipeline.py --smoke      # a few batches (the test uses this)
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

BATCH = 16
GT_SIZE, SCALE, PATCH = 256, 4, 128


def write_pairs(root: Path, count: int) -> None:
    rng = np.random.default_rng(0)
    (root / "gt").mkdir(parents=True)
    (root / "lq").mkdir(parents=True)
    for index in range(count):
        coarse = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
        gt = Image.fromarray(coarse).resize((GT_SIZE, GT_SIZE), Image.Resampling.BICUBIC)
        gt.save(root / "gt" / f"{index:04d}.png")
        gt.resize((GT_SIZE // SCALE,) * 2, Image.Resampling.BICUBIC).save(root / "lq" / f"{index:04d}.png")


class ReferencePairs(torch.utils.data.Dataset):
    """The same work written directly: PIL decode, aligned crop, flip, CHW tensors."""

    def __init__(self, root: Path) -> None:
        self.names = sorted(path.name for path in (root / "gt").iterdir())
        self.root = root

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index: int) -> dict:
        name = self.names[index]
        with Image.open(self.root / "gt" / name) as handle:
            gt = np.asarray(handle.convert("RGB"))
        with Image.open(self.root / "lq" / name) as handle:
            lq = np.asarray(handle.convert("RGB"))
        lq_patch = PATCH // SCALE
        top = np.random.randint(0, lq.shape[0] - lq_patch + 1)
        left = np.random.randint(0, lq.shape[1] - lq_patch + 1)
        lq = lq[top:top + lq_patch, left:left + lq_patch]
        gt = gt[top * SCALE:top * SCALE + PATCH, left * SCALE:left * SCALE + PATCH]
        if np.random.rand() < 0.5:
            lq, gt = lq[:, ::-1], gt[:, ::-1]
        as_tensor = lambda image: torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))  # noqa: E731
        return {"inputs": as_tensor(lq), "gt_img": as_tensor(gt)}


def mgx_loader(root: Path, workers: int):
    from mgx.core.engine.data import build_dataloader
    from mgx.core.plugins import PluginManager

    PluginManager(["mgx.plugins.data"]).activate()
    pipeline = [dict(type="LoadImageFromFile", key="img", color_type="color", channel_order="rgb"),
                dict(type="LoadImageFromFile", key="gt", color_type="color", channel_order="rgb"),
                dict(type="SetValues", dictionary=dict(scale=SCALE)),
                dict(type="PairedRandomCrop", gt_patch_size=PATCH),
                dict(type="Flip", keys=["img", "gt"], flip_ratio=0.5, direction="horizontal"),
                dict(type="PackInputs")]
    cfg = dict(batch_size=BATCH, num_workers=workers, persistent_workers=workers > 0,
               sampler=dict(type="InfiniteSampler", shuffle=True),
               dataset=dict(type="BasicImageDataset", data_root=str(root), data_prefix=dict(img="lq", gt="gt"),
                            pipeline=pipeline))
    return build_dataloader(cfg, field="train_dataloader", seed=0, training=True, infinite=True)


def reference_loader(root: Path, workers: int):
    dataset = ReferencePairs(root)
    sampler = torch.utils.data.RandomSampler(dataset, replacement=True, num_samples=10**8)
    return torch.utils.data.DataLoader(dataset, batch_size=BATCH, sampler=sampler, num_workers=workers,
                                       persistent_workers=workers > 0, drop_last=True)


def _worker_pids(iterator) -> list[int]:
    return [worker.pid for worker in getattr(iterator, "_workers", [])]


def _cpu_seconds(pids: list[int]) -> float:
    """CPU time of this process and of the loader's worker processes."""
    import psutil

    total = time.process_time()
    for pid in pids:
        times = psutil.Process(pid).cpu_times()
        total += times.user + times.system
    return total


def measure(loader, batches: int) -> tuple[float, float]:
    """(images/s on the wall clock, CPU ms per image) over ``batches`` batches."""
    iterator = iter(loader)
    for _ in range(2):  # workers started, first batches prefetched
        next(iterator)
    pids = _worker_pids(iterator)
    started, cpu_started = time.perf_counter(), _cpu_seconds(pids)
    for _ in range(batches):
        batch = next(iterator)
        assert batch["gt_img"].shape == (BATCH, 3, PATCH, PATCH) and batch["gt_img"].dtype == torch.uint8
    wall, cpu = time.perf_counter() - started, _cpu_seconds(pids) - cpu_started
    return batches * BATCH / wall, 1000 * cpu / (batches * BATCH)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--images", type=int, default=96)
    parser.add_argument("--smoke", action="store_true", help="a few batches, one round (for the test)")
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.batches, args.images = 1, 2, 32
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_pairs(root, args.images)
        print(f"{args.images} PNG pairs (GT {GT_SIZE} px, LQ x{SCALE}), crop {PATCH}, flip, batch {BATCH}; "
              f"{args.rounds} rounds of {args.batches} batches; load average {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} CPUs")
        print(f"{'workers':>7}  {'mgx img/s':>10}  {'ref img/s':>10}  {'mgx/ref':>7}  {'mgx cpu ms':>10}  "
              f"{'ref cpu ms':>10}  {'ref/mgx cpu':>11}  (medians of rounds; cpu: ms per image)")
        for workers in (1, 2):
            loaders = {"mgx": mgx_loader(root, workers), "ref": reference_loader(root, workers)}
            rates: dict[str, list[float]] = {"mgx": [], "ref": []}
            cpus: dict[str, list[float]] = {"mgx": [], "ref": []}
            for round_index in range(args.rounds):
                order = ["mgx", "ref"] if round_index % 2 == 0 else ["ref", "mgx"]
                for name in order:
                    rate, cpu = measure(loaders[name], args.batches)
                    rates[name].append(rate)
                    cpus[name].append(cpu)
            wall_ratios = [m / r for m, r in zip(rates["mgx"], rates["ref"])]
            cpu_ratios = [r / m for m, r in zip(cpus["mgx"], cpus["ref"])]
            print(f"{workers:>7}  {statistics.median(rates['mgx']):>10.1f}  {statistics.median(rates['ref']):>10.1f}  "
                  f"{statistics.median(wall_ratios):>7.3f}  {statistics.median(cpus['mgx']):>10.2f}  "
                  f"{statistics.median(cpus['ref']):>10.2f}  {statistics.median(cpu_ratios):>11.3f}  "
                  f"rounds: wall {min(wall_ratios):.2f}..{max(wall_ratios):.2f}, "
                  f"cpu {min(cpu_ratios):.2f}..{max(cpu_ratios):.2f}")


if __name__ == "__main__":
    main()
