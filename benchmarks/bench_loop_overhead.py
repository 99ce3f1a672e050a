"""Loop overhead: mgx (tracking on) vs a hand-written PyTorch loop, same model, data and steps.

All variants run in this one process, alternating, several rounds (this machine
is shared and noisy; a fresh process may be in a fast or a slow state, so only
same-process ratios mean anything). All log the loss every 10 steps: the raw
loop keeps ``loss.item()`` in a list, mgx sends interval means to MLflow
(SQLite store in a temp workspace). Variants: the raw loop; mgx as shipped (the
SQLite writes run in a helper process); mgx with the writes on a thread of the
training process (``tracking=dict(batch_process=False)``); mgx without tracking.

    python benchmarks/bench_loop_overhead.py [--rounds 5] [--iters 1500] [--conv-iters 250]
    BENCH_THREADS=1 python benchmarks/bench_loop_overhead.py   # leave a core free for the helper

Prints per variant the mean and median step, the stall time (time steps spend
beyond 3x the median step: GIL or CPU taken by background work) and the ratios
to the raw loop (goals: throughput ≥ 0.98 for the small conv net, ≥ 0.90 for the
tiny MLP, i.e. ≤ 0.1 ms of framework time a step).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from mgx.core.hookspecs import hookimpl

BATCH = 64
WARMUP = 50
WARMUP_S = 2.0


class Classifier(nn.Module):
    """A model in mgx's contract: train_step(batch, optim) -> losses."""

    def __init__(self, kind: str = "mlp") -> None:
        super().__init__()
        self.net = make_net(kind)

    def train_step(self, batch, optim):
        x = batch["inputs"].float().div_(255.0)
        loss = nn.functional.cross_entropy(self.net(x), batch["label"])
        optim.update_params(loss)
        return {"loss": loss.detach()}

    def val_step(self, batch):
        return {}


def make_net(kind: str) -> nn.Module:
    torch.manual_seed(0)
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 32), nn.ReLU(), nn.Linear(32, 10))
    return nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64 * 8 * 8, 128), nn.ReLU(), nn.Linear(128, 10))


class StepTimer:
    """Run hook: the time at the end of every step."""

    def __init__(self) -> None:
        self.times: list[float] = []

    @hookimpl
    def mgx_after_train_iter(self, run, iteration, batch, outputs):
        self.times.append((time.perf_counter(), time.process_time()))


def step_times(times: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """(wall, CPU) durations (ms) of the steps after warm-up: the first WARMUP steps and the first
    WARMUP_S seconds are left out (start-up work such as the tracking helper's imports). CPU is
    this process's (all its threads; the tracking helper process is not counted)."""
    first = next(i for i, t in enumerate(times) if i >= WARMUP and t[0] - times[0][0] >= WARMUP_S)
    return [(1000 * (b[0] - a[0]), 1000 * (b[1] - a[1])) for a, b in zip(times[first:], times[first + 1:])]


TIMER = StepTimer()


@hookimpl
def mgx_register_models(register):
    register(Classifier, name="BenchClassifier")


@hookimpl
def mgx_register_run_hooks(register):
    register(lambda: TIMER, name="BenchTimer")


def raw_loop(kind: str, iters: int) -> list[float]:
    """The hand-written loop: in-memory tensors, index a batch, step, keep loss.item() every 10 steps."""
    from mgx.plugins.data.datasets import DigitsDataset

    dataset = DigitsDataset(image_size=32, split="train")
    # numpy gathers, as DigitsDataset.get_batch does (torch advanced indexing of uint8 costs ~0.5 ms):
    # both variants fetch data the same way, so the ratio is the framework's time only
    images = np.ascontiguousarray(dataset.images[dataset.indices].transpose(0, 3, 1, 2))
    labels = dataset.labels[dataset.indices]
    net = make_net(kind)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)
    order = torch.randperm(len(labels), generator=generator)
    position, logged, times = 0, [], [(time.perf_counter(), time.process_time())]
    for step in range(iters):
        if position + BATCH > len(order):
            order, position = torch.randperm(len(labels), generator=generator), 0
        index = order[position:position + BATCH].numpy()
        position += BATCH
        x = torch.from_numpy(images[index]).float().div_(255.0)
        loss = nn.functional.cross_entropy(net(x), torch.from_numpy(labels[index]))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if (step + 1) % 10 == 0:
            logged.append(loss.item())
        times.append((time.perf_counter(), time.process_time()))
    return step_times(times)


def mgx_loop(kind: str, iters: int, workspace: Path, manager, tracking: dict) -> list[float]:
    from mgx.core.config import Config
    from mgx.core.run.runner import RunOptions, train

    cfg = Config({
        "model": {"type": "BenchClassifier", "kind": kind},
        "train_dataloader": {"batch_size": BATCH, "drop_last": True,
                             "dataset": {"type": "DigitsDataset", "image_size": 32, "split": "train",
                                         "pipeline": [{"type": "PackInputs"}]},
                             "sampler": {"type": "InfiniteSampler", "shuffle": True}},
        "optim_wrapper": {"optimizer": {"type": "Adam", "lr": 1e-3}},
        "train_cfg": {"by_epoch": False, "max_iters": iters},
        "default_hooks": {"logger": {"interval": 10}, "checkpoint": {"interval": -1, "save_last": False}},
        "custom_hooks": [{"type": "BenchTimer"}],
        "randomness": {"seed": 0},
    }, filename=f"bench_{kind}.py")
    TIMER.__init__()
    options = RunOptions(config_path=Path(f"bench_{kind}.py"), work_dir=workspace / f"work_{kind}",
                         tracking={"workspace": workspace, "experiment": "bench", **tracking})
    train(cfg, options, manager)
    return step_times(TIMER.times)


VARIANTS = {
    "raw": None,
    "mgx": {"enabled": True},  # the default: SQLite writes in the tracking helper process
    "mgx, writer thread": {"enabled": True, "batch_process": False},
    "mgx, --no-track": {"enabled": False},
}


def summarize(name: str, rounds: list[list[tuple[float, float]]], raw: list[list[tuple[float, float]]]) -> str:
    """Per round: mean, median and CPU step; stall = wall time a step spent beyond 3x the round's
    median step. Ratios to the raw loop are taken round by round (the raw round beside it) and their
    median over rounds printed, with the spread: throughput (mean wall step), median wall step, and
    CPU (this process's CPU time a step, which other jobs on the machine do not inflate)."""
    walls = [[wall for wall, _ in durations] for durations in rounds]
    mean = [statistics.fmean(durations) for durations in walls]
    median = [statistics.median(durations) for durations in walls]
    cpu = [statistics.fmean(c for _, c in durations) for durations in rounds]
    stall = [sum(max(0.0, d - 3 * m) for d in durations) / len(durations) for durations, m in zip(walls, median)]
    text = f"  {name:20s} mean step {statistics.median(mean):6.3f} ms  median step {statistics.median(median):6.3f} ms" \
           f"  CPU {statistics.median(cpu):6.3f} ms  stall {statistics.median(stall):6.3f} ms/step"
    if raw is not rounds:
        raw_walls = [[wall for wall, _ in durations] for durations in raw]
        ratios = {
            "throughput": [statistics.fmean(r) / m for r, m in zip(raw_walls, mean)],
            "median-step": [statistics.median(r) / m for r, m in zip(raw_walls, median)],
            "CPU": [statistics.fmean(c for _, c in r) / m for r, m in zip(raw, cpu)],
        }
        text += "\n  " + " " * 20 + "  ratios to raw: " + "  ".join(
            f"{label} {statistics.median(values):.3f} [{min(values):.3f}..{max(values):.3f}]"
            for label, values in ratios.items())
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--iters", type=int, default=1500)
    parser.add_argument("--conv-iters", type=int, default=250)
    parser.add_argument("--kinds", default="mlp,conv", help="models to run: mlp, conv or both")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help=f"comma-separated subset of {list(VARIANTS)} (raw is always run)")
    args = parser.parse_args()
    variants = ["raw"] + [name for name in args.variants.split(",") if name in VARIANTS and name != "raw"]

    import logging

    from mgx.core.plugins import PluginManager
    from mgx.plugins import DEFAULT_PLUGINS

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    manager = PluginManager((*DEFAULT_PLUGINS, "__main__")).activate()
    logging.getLogger("mgx").disabled = True
    workspace = Path(tempfile.mkdtemp(prefix="mgx-bench-loop-"))
    os.chdir(workspace)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {BATCH}, {args.rounds} rounds "
          f"(order alternating ABBA), warm-up: the first {WARMUP} steps and {WARMUP_S:.0f} s excluded; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    iterations = {"mlp": args.iters, "conv": args.conv_iters}
    for kind in args.kinds.split(","):
        results: dict[str, list[list[tuple[float, float]]]] = {name: [] for name in variants}
        for round_index in range(args.rounds):
            order = variants if round_index % 2 == 0 else list(reversed(variants))  # alternate
            for name in order:
                tracking = VARIANTS[name]
                durations = raw_loop(kind, iterations[kind]) if tracking is None else \
                    mgx_loop(kind, iterations[kind], workspace, manager, tracking)
                results[name].append(durations)
        print(f"{kind}:")
        for name in variants:
            print(summarize(name, results[name], results["raw"]))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
