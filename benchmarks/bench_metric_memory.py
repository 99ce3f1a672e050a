"""Peak memory of each generative metric at 10k and 50k images: mgx measured, MMagic computed from its source.

Each (metric, N) runs in its own subprocess: random images in batches go through the metric's
``process_real``/``process_fake`` and ``compute`` (PPL: its own ``evaluate`` with a tiny
generator), with small fixed random feature extractors of the real networks' output sizes
(Inception pool 2048, Inception logits 1008, VGG16 fc2 4096 — see --pr-dim), so only what the
metric keeps is large. Printed per row:

- mgx peak RSS: the child's ``ru_maxrss``; "held" is that minus the RSS just before the
  first image (interpreter, torch, the extractor).
- MMagic holds: the bytes MMagic 1.2.0's implementation keeps alive at its peak for the same
  metric and sizes, COMPUTED FROM ITS SOURCE (mmagic/evaluation/metrics/*.py; mmagic is not
  installed here): the arrays it keeps (lists of per-batch results), the copies its
  ``_collect_target_results`` and ``compute_metrics`` make (torch.cat, all_gather, np.cov's
  float64 copy, cdist blocks, sorted projections). Python object overheads are not counted,
  so these are lower bounds.

Usage: python benchmarks/bench_metric_memory.py [--sizes 10000 50000] [--metrics FID SWD ...]
       python benchmarks/bench_metric_memory.py --smoke      # tiny sizes, a few seconds per metric
Not run in CI (the whole run took 17 minutes on the shared 2-core VM, 7 of them SWD at 50k).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

METRICS = ("FID", "KID", "PR", "IS", "MS_SSIM", "SWD", "PPL")
MIB = 2**20


# ---------------------------------------------------------------- MMagic, computed from its source

def mmagic_bytes(metric: str, n: int, args) -> int | None:
    """Bytes MMagic 1.2.0 holds at its peak for ``n`` fake (and n real) images; None: no such metric."""
    if metric == "FID":
        # fid.py: fake_results = one (1, d) view per image of each batch's features (4nd); at compute
        # _collect_target_results cats them (4nd) and all_gathers + cats again (4nd; the first is
        # freed), compute_metrics cats the split list once more (4nd) and np.cov makes a float64
        # copy (8nd) — while self.fake_results is still alive. Reals: from inception_pkl.
        # _calc_fid then runs scipy's sqrtm on the d×d product, complex: ≥ 72 d² bytes with the covariances.
        d = args.feature_dim
        return max(4 * n * d * 3 + 8 * n * d, 4 * n * d * 3 + 72 * d * d)
    if metric == "KID":
        return None  # MMagic 1.2.0 has no KID metric
    if metric == "IS":
        # inception_score.py: softmax outputs (k = 1008 StyleGAN logits) split per image (4nk),
        # collected (4nk), concatenated again in compute_metrics (4nk).
        k = 1008
        return 3 * 4 * n * k
    if metric == "PR":
        # precision_and_recall.py: real VGG features (results_real, 4nd), fake_results (4nd),
        # collected (4nd), gen_features = torch.cat (4nd); per row batch compute_pr_distances
        # keeps a list of cdist blocks and cats them: 2 × row_batch_size(10000) × n floats.
        d, rows = args.pr_dim, min(10000, n)
        return 4 * 4 * n * d + 2 * 4 * rows * n
    if metric == "MS_SSIM":
        # ms_ssim.py: one 1-element tensor per pair (4 B each, plus a tensor object), collected and
        # concatenated: 3 copies of n/2 floats. Images are not kept.
        return 3 * 4 * (n // 2)
    if metric == "SWD":
        # swd.py: per pyramid level and set, 128 descriptors of 3·7·7 floats per image are kept
        # (real_results / fake_results); _collect_target_results makes one copy of every level
        # (cat, all_gather, cat), compute_metrics' finalize_descriptors another (cat), all alive
        # at once: 3 × everything. Then per level sliced_wasserstein holds both sets' sorted
        # projections on 128 directions and |Δ| (3 × 4 × rows × 128, rows = 128 n) at least.
        levels, size = 0, args.swd_size
        while size >= 16 and levels < 4:
            levels, size = levels + 1, size // 2
        descriptors = 2 * levels * n * 128 * 3 * 49 * 4
        return 3 * descriptors + 3 * 4 * (128 * n) * 128
    if metric == "PPL":
        # ppl.py: one distance per sample, split per sample and concatenated at compute (2 × 4n).
        return 2 * 4 * n
    raise ValueError(metric)


# ---------------------------------------------------------------- mgx, measured in a child process

def _tiny_modules():
    import torch
    from torch import nn

    class RandomFeatures(nn.Module):
        """Fixed random projection of 8×8-pooled pixels to ``dim`` features (and ``classes`` probabilities)."""

        def __init__(self, dim: int, classes: int = 1008) -> None:
            super().__init__()
            gen = torch.Generator().manual_seed(dim)
            self.proj = nn.Parameter(torch.randn(3 * 64, dim, generator=gen) / 14, requires_grad=False)
            self.head = nn.Parameter(torch.randn(dim, classes, generator=gen) / dim**0.5, requires_grad=False)

        def forward(self, images):
            pooled = nn.functional.adaptive_avg_pool2d(images / 127.5 - 1, 8).flatten(1)
            return torch.tanh(pooled @ self.proj)

        def class_probabilities(self, images):
            return torch.softmax(self(images) @ self.head * 4, dim=1)

    class TinyLPIPS(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, stride=2)

        def forward(self, images):
            return torch.tanh(self.conv(images / 127.5 - 1)).flatten(1)

    class TinyGenerator(nn.Module):
        latent_dim = 16

        def __init__(self) -> None:
            super().__init__()
            self.map = nn.Linear(16, 16)
            self.to_img = nn.Linear(16, 3 * 16 * 16)

        def mapping(self, z):
            return torch.tanh(self.map(z))

        def synthesis(self, w):
            return torch.tanh(self.to_img(w)).view(-1, 3, 16, 16)

    return RandomFeatures, TinyLPIPS, TinyGenerator


def _build(metric: str, n: int, args):
    import torch
    from mgx.plugins.metrics.fid import FrechetInceptionDistance
    from mgx.plugins.metrics.inception_score import InceptionScore
    from mgx.plugins.metrics.kid import KernelInceptionDistance
    from mgx.plugins.metrics.ms_ssim import MultiScaleStructureSimilarity
    from mgx.plugins.metrics.ppl import PerceptualPathLength
    from mgx.plugins.metrics.precision_recall import PrecisionAndRecall
    from mgx.plugins.metrics.swd import SlicedWassersteinDistance

    RandomFeatures, TinyLPIPS, TinyGenerator = _tiny_modules()
    size, model = 32, None
    if metric == "FID":
        m = FrechetInceptionDistance(fake_nums=n, real_nums=n, feature_extractor=RandomFeatures(args.feature_dim))
    elif metric == "KID":
        m = KernelInceptionDistance(fake_nums=n, real_nums=n, subset_size=min(1000, n),
                                    feature_extractor=RandomFeatures(args.feature_dim))
    elif metric == "PR":
        m = PrecisionAndRecall(fake_nums=n, real_nums=n, feature_extractor=RandomFeatures(args.pr_dim))
    elif metric == "IS":
        m = InceptionScore(fake_nums=n, feature_extractor=RandomFeatures(2048))
    elif metric == "MS_SSIM":
        m, size = MultiScaleStructureSimilarity(fake_nums=n), args.swd_size
    elif metric == "SWD":
        m, size = SlicedWassersteinDistance(fake_nums=n, real_nums=n), args.swd_size
    elif metric == "PPL":
        m, model = PerceptualPathLength(fake_nums=n, feature_extractor=TinyLPIPS(), crop=False), TinyGenerator()
    else:
        raise ValueError(metric)
    return m, size, model


def child(metric: str, n: int, args) -> None:
    import torch
    from mgx.core.evaluation import MetricContext

    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="mgx-bench-mem-"))
    m, size, model = _build(metric, n, args)
    ctx = MetricContext(model=model, device=torch.device("cpu"), cache_dir=work / "cache", work_dir=work / "work",
                        seed=0, batch_size=args.batch)
    m.setup(ctx)
    gen = torch.Generator().manual_seed(0)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    start = time.perf_counter()
    if metric == "PPL":
        result = m.evaluate(ctx)
    else:
        for first in range(0, n, args.batch):
            indices = torch.arange(first, min(first + args.batch, n))
            if getattr(m, "needs_reals", False):
                m.process_real(torch.rand(len(indices), 3, size, size, generator=gen) * 255, indices)
            m.process_fake(torch.rand(len(indices), 3, size, size, generator=gen) * 230, indices)
        result = m.compute()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    leftovers = [p.name for p in (work / "work").glob("*")] if (work / "work").exists() else []
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({"peak": peak, "baseline": baseline, "seconds": seconds, "result": result,
                      "leftover_files": leftovers}))


def _run_child(metric: str, n: int, args) -> dict:
    command = [sys.executable, os.path.abspath(__file__), "--child", metric, str(n), "--pr-dim", str(args.pr_dim),
               "--feature-dim", str(args.feature_dim),
               "--swd-size", str(args.swd_size), "--batch", str(args.batch), "--threads", str(args.threads)]
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{metric} at {n} images failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _mb(value: float | None) -> str:
    return "n/a" if value is None else f"{value / MIB:,.0f}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 50000])
    parser.add_argument("--metrics", nargs="+", default=list(METRICS), choices=METRICS)
    parser.add_argument("--feature-dim", type=int, default=2048, help="FID/KID feature size (Inception's: 2048)")
    parser.add_argument("--pr-dim", type=int, default=256,
                        help="PR feature size (VGG16's is 4096; k-NN time grows with it, memory linearly)")
    parser.add_argument("--swd-size", type=int, default=64, help="image size for SWD and MS-SSIM (DCGAN: 64)")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks that every row runs")
    parser.add_argument("--child", nargs=2, metavar=("METRIC", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], int(args.child[1]), args)
        return
    if args.smoke:
        args.sizes, args.feature_dim, args.pr_dim, args.swd_size, args.batch = [40], 64, 16, 32, 20
    print(f"peak memory per metric (MiB); PR features {args.pr_dim}-d, SWD/MS-SSIM images {args.swd_size} px, "
          f"FID/KID {args.feature_dim}-d, IS 1008 classes")
    print(f"{'metric':<8} {'images':>7} {'mgx peak RSS':>13} {'mgx held':>9} "
          f"{'MMagic holds (computed from its source)':>40} {'MMagic/mgx held':>16} {'time s':>7}")
    for metric in args.metrics:
        for n in args.sizes:
            row = _run_child(metric, n, args)
            held = max(0, row["peak"] - row["baseline"])
            theirs = mmagic_bytes(metric, n, args)
            ratio = "n/a" if theirs is None else f"{theirs / max(held, MIB):,.1f}x"
            print(f"{metric:<8} {n:>7} {_mb(row['peak']):>13} {_mb(held):>9} {_mb(theirs):>40} {ratio:>16} "
                  f"{row['seconds']:>7.1f}", flush=True)
            if row["leftover_files"]:
                raise SystemExit(f"{metric} left files in its work_dir: {row['leftover_files']}")


if __name__ == "__main__":
    main()
