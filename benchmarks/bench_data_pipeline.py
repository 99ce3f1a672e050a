"""The image data path: mgx's MMagic pipeline vs a plain PIL + torch DataLoader doing the same work.

The work: decode a PNG pair (GT 256 px, LQ ×4 = 64 px), a paired random crop (GT 128 px), a
random horizontal flip of both, and CHW tensors batched by 16 — what MMagic's restoration
configs ask for (`LoadImageFromFile` ×2, `PairedRandomCrop`, `Flip`, `PackInputs`,
`BasicImageDataset` + `DefaultSampler`). mgx builds its loader from the config dicts through
the engine (`build_dataloader`); the reference is a hand-written `torch.utils.data.Dataset`.
Both run at 1 and 2 worker processes, alternating in this one process for several rounds;
images/s and the ratio mgx / reference per round (median printed; goal ≥ 0.95).

    python benchmarks/bench_data_pipeline.py [--rounds 5] [--batches 40] [--images 96]
    python benchmarks/bench_data_pipeline.py --smoke      # a few batches (the test uses this)
"""
from __future__ import annotations

import argparse
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


def images_per_second(loader, batches: int) -> float:
    iterator = iter(loader)
    for _ in range(2):  # workers started, first batches prefetched
        next(iterator)
    started = time.perf_counter()
    for _ in range(batches):
        batch = next(iterator)
        assert batch["gt_img"].shape == (BATCH, 3, PATCH, PATCH)
    return batches * BATCH / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batches", type=int, default=40)
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
              f"{args.rounds} rounds of {args.batches} batches")
        print(f"{'workers':>7}  {'mgx img/s':>10}  {'ref img/s':>10}  {'mgx/ref':>7}  (median of rounds)")
        for workers in (1, 2):
            loaders = {"mgx": mgx_loader(root, workers), "ref": reference_loader(root, workers)}
            rates: dict[str, list[float]] = {"mgx": [], "ref": []}
            ratios = []
            for round_index in range(args.rounds):
                order = ["mgx", "ref"] if round_index % 2 == 0 else ["ref", "mgx"]
                measured = {name: images_per_second(loaders[name], args.batches) for name in order}
                for name, rate in measured.items():
                    rates[name].append(rate)
                ratios.append(measured["mgx"] / measured["ref"])
            print(f"{workers:>7}  {statistics.median(rates['mgx']):>10.1f}  {statistics.median(rates['ref']):>10.1f}  "
                  f"{statistics.median(ratios):>7.3f}")


if __name__ == "__main__":
    main()
