"""FID over 10,000 generated images with one fixed small extractor (2048-d features by default):
mgx's FrechetInceptionDistance vs torchmetrics' FrechetInceptionDistance(feature=<same module>).

Both see the same real and generated image tensors in the same batches; the
time includes feature extraction, accumulation and the final distance.
Run: python benchmarks/bench_fid_end_to_end.py [--num 10000] [--size 32] [--batch 500]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from mgx.core.evaluation import MetricContext
from mgx.plugins.metrics import FrechetInceptionDistance


class SmallExtractor(nn.Module):
    """Two strided convs and a 2048-wide projection: cheap, fixed (seeded), Inception-sized output."""

    def __init__(self, dim: int = 2048) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(nn.Conv2d(3, 32, 3, stride=2, padding=1), nn.ReLU(),
                                  nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
                                  nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(64 * 16, dim), nn.ReLU())

    def forward(self, images):
        return self.body(images.float() / 127.5 - 1)


def make_images(num: int, size: int, seed: int, shift: float) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    low = torch.rand(num, 3, 4, 4, generator=gen)
    x = nn.functional.interpolate(low, size=(size, size), mode="bilinear", align_corners=False)
    return ((x + shift + 0.1 * torch.rand(num, 3, size, size, generator=gen)).clamp(0, 1) * 255).round()


def run_mgx(net, reals, fakes, batch) -> float:
    metric = FrechetInceptionDistance(fake_nums=fakes.shape[0], feature_extractor=net)
    with tempfile.TemporaryDirectory() as tmp:
        metric.setup(MetricContext(model=None, device=torch.device("cpu"), cache_dir=Path(tmp), work_dir=Path(tmp)))
        for start in range(0, reals.shape[0], batch):
            metric.process_real(reals[start:start + batch], torch.arange(start, min(start + batch, reals.shape[0])))
        for start in range(0, fakes.shape[0], batch):
            metric.process_fake(fakes[start:start + batch], torch.arange(start, min(start + batch, fakes.shape[0])))
        return metric.compute()["fid"]


def run_torchmetrics(net, reals, fakes, batch) -> float:
    from torchmetrics.image.fid import FrechetInceptionDistance as Reference

    metric = Reference(feature=net)
    with torch.inference_mode():
        for start in range(0, reals.shape[0], batch):
            metric.update(reals[start:start + batch], real=True)
        for start in range(0, fakes.shape[0], batch):
            metric.update(fakes[start:start + batch], real=False)
        return float(metric.compute())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num", type=int, default=10000)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--dim", type=int, default=2048, help="feature dimension (Inception's is 2048)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    net = SmallExtractor(args.dim).eval()
    reals = make_images(args.num, args.size, 1, 0.0)
    fakes = make_images(args.num, args.size, 2, 0.05)
    times = {"mgx": [], "torchmetrics": []}
    values = {}
    for _ in range(args.rounds):  # alternate to share the VM's slow/fast phases
        for name, fn in (("torchmetrics", run_torchmetrics), ("mgx", run_mgx)):
            start = time.perf_counter()
            values[name] = fn(net, reals, fakes, args.batch)
            times[name].append(time.perf_counter() - start)
    best = {name: min(ts) for name, ts in times.items()}
    print(f"FID end to end: {args.num} real + {args.num} generated images {args.size}px, {args.dim}-d features, "
          f"batch {args.batch}, {args.threads} threads, best of {args.rounds}")
    for name in ("torchmetrics", "mgx"):
        print(f"{name:13s} {best[name]:8.2f} s   (all: {', '.join(f'{t:.2f}' for t in times[name])})   "
              f"FID {values[name]:.10f}")
    print(f"time ratio torchmetrics/mgx: {best['torchmetrics'] / best['mgx']:.2f}x   "
          f"relative value difference: {abs(values['mgx'] - values['torchmetrics']) / abs(values['torchmetrics']):.2e}")


if __name__ == "__main__":
    main()
