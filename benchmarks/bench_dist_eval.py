"""Distributed evaluation: the same `mgx run test` on 1 process vs 2 (--launcher dist).

Trains the config for a couple of iterations to get a checkpoint, then runs the
test evaluation in rotation with `--launcher local` (one process, torch's default
threads), `--launcher local` with OMP_NUM_THREADS=1, and `--launcher dist --gpus 2`
(torchrun: two processes, one thread each), several rounds. Prints each
variant's metrics — 2 processes must equal 1 process with the same threads per
process: every rank evaluates a contiguous block of samples and the metrics
reduce across ranks (thread count alone can move the 4th decimal) — and the
wall-time ratios of the evaluation itself (the "(N s)" the engine prints on the
Test line) and of the whole command (process start-up included).
Goal: evaluation ratio <= 0.65 for an extraction-heavy metric set.

``--metric-set extraction`` replaces the config's test metrics by FID and KID over
pytorch-fid's InceptionV3 architecture with random weights (the real weights
cannot be downloaded here; the compute is the same): the extraction-heavy case.
``--metric-set config`` keeps the config's own metrics (SWD + MS-SSIM for the
example). Every run gets its own empty cache, so each one extracts the reals.

    python benchmarks/bench_dist_eval.py [--metric-set extraction|config] [--rounds 3] [--fake-nums N]
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mgx.core.engine.checkpoint import read_marker

REPO = Path(__file__).resolve().parents[1]
TEST_LINE = re.compile(r"Test\s+(?P<metrics>.*?)\s+\((?P<seconds>[0-9.]+) s\)")


EXTRACTION_CONFIG = """_base_ = '{base}'
extractor = dict(type='FIDInceptionV3', load_weights=False)
test_evaluator = dict(_delete_=True, type='Evaluator', metrics=[
    dict(type='FrechetInceptionDistance', prefix='FID', fake_nums=256, feature_extractor=extractor),
    dict(type='KernelInceptionDistance', prefix='KID', fake_nums=256, feature_extractor=extractor,
         subsets=10, subset_size=100),
])
"""


def mgx(*args: str, cwd: Path, env: dict) -> tuple[subprocess.CompletedProcess, float]:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "mgx.cli", *args], cwd=cwd, env=env, capture_output=True,
                            text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"mgx {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return result, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(REPO / "configs" / "example_config.py"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--metric-set", choices=("extraction", "config"), default="extraction")
    parser.add_argument("--fake-nums", type=int, default=None,
                        help="generated samples per metric (default: 256 for extraction, 1024 for config)")
    parser.add_argument("--metrics", type=int, default=2, help="how many metrics of the config carry fake_nums")
    args = parser.parse_args()
    if args.fake_nums is None:
        args.fake_nums = 256 if args.metric_set == "extraction" else 1024

    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    with tempfile.TemporaryDirectory(prefix="mgx-bench-dist-eval-") as tmp:
        tmp_path = Path(tmp)
        train_dir = tmp_path / "train"
        mgx("run", "train", args.config, "--work-dir", str(train_dir), "--no-track", "--cfg-options",
            "train_cfg.max_iters=2", "train_cfg.val_interval=100000", cwd=tmp_path, env=env)
        checkpoint = read_marker(train_dir)
        if checkpoint is None:
            sys.exit(f"training left no checkpoint in {train_dir}")
        checkpoint = str(checkpoint)
        test_config = args.config
        if args.metric_set == "extraction":
            test_config = str(tmp_path / "extraction_heavy.py")
            Path(test_config).write_text(EXTRACTION_CONFIG.format(base=Path(args.config).resolve()))
        overrides = [f"test_evaluator.metrics.{i}.fake_nums={args.fake_nums}" for i in range(args.metrics)]
        # (flags, extra environment). torchrun gives each worker OMP_NUM_THREADS=1; the
        # 1-thread single process has the same per-process numerics as the dist workers.
        variants = {
            "1 process": (["--launcher", "local"], {}),
            "1 process, 1 thread": (["--launcher", "local"], {"OMP_NUM_THREADS": "1"}),
            "2 processes (dist)": (["--launcher", "dist", "--gpus", "2"], {}),
        }
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
        metrics: dict[str, set[str]] = {name: set() for name in variants}
        for round_index in range(args.rounds):
            # Alternate the order: a fresh process may start in a fast or slow state on this VM.
            order = list(variants) if round_index % 2 == 0 else list(reversed(variants))
            for number, name in enumerate(order):
                flags, extra_env = variants[name]
                # an empty cache for every run: FID's real statistics are extracted each time
                cache = {"MGX_CACHE_DIR": str(tmp_path / f"cache-{round_index}-{number}")}
                result, wall = mgx("run", "test", test_config, checkpoint, "--no-track", "--work-dir",
                                   str(tmp_path / f"test-{round_index}-{number}"), *flags,
                                   "--cfg-options", *overrides, cwd=tmp_path, env={**env, **extra_env, **cache})
                match = TEST_LINE.search(result.stdout + result.stderr)
                if match is None:
                    sys.exit(f"no Test line in the output of {name}:\n{result.stderr[-3000:]}")
                times[name].append((float(match["seconds"]), wall))
                metrics[name].add(match["metrics"])
                print(f"round {round_index + 1} {name:>22}: evaluation {float(match['seconds']):7.2f} s, "
                      f"command {wall:7.2f} s", flush=True)

    local, local_1t, dist = variants
    print()
    for name in variants:
        print(f"{name:>20}: {' | '.join(sorted(metrics[name]))}")
    identical = metrics[local_1t] == metrics[dist] and len(metrics[dist]) == 1
    print(f"metrics identical, 2 processes vs 1 process with the same threads per process, all rounds: {identical}")
    print(f"metrics identical, 2 processes vs 1 process with default threads: {metrics[local] == metrics[dist]}")
    print()
    print(f"{'':>20}  {'evaluation s (median, min-max)':>32}  {'whole command s (median)':>26}")
    for name in variants:
        evals = [t[0] for t in times[name]]
        walls = [t[1] for t in times[name]]
        print(f"{name:>20}  {statistics.median(evals):14.2f} ({min(evals):.2f}-{max(evals):.2f})"
              f"{'':>6}  {statistics.median(walls):26.2f}")
    print(f"\ncores on this machine: {os.cpu_count()}")
    for baseline in (local, local_1t):
        eval_ratio = statistics.median(t[0] for t in times[dist]) / statistics.median(t[0] for t in times[baseline])
        wall_ratio = statistics.median(t[1] for t in times[dist]) / statistics.median(t[1] for t in times[baseline])
        print(f"ratio 2 processes / {baseline}: evaluation {eval_ratio:.2f} (goal <= 0.65), "
              f"whole command {wall_ratio:.2f}")
    if not identical:
        sys.exit("the metrics differ between 1 and 2 processes")


if __name__ == "__main__":
    main()
