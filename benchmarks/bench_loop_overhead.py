"""Loop overhead: mgx (tracking on) vs a hand-written PyTorch loop, same model, data and steps.

All variants run in this one process, alternating, several rounds (this machine
is shared and noisy; a fresh process may be in a fast or a slow state, so only
same-process ratios mean anything). All log the loss every 10 steps: the raw
loop keeps ``loss.item()`` in a list, mgx sends interval means to MLflow
(SQLite store in a temp workspace). Variants: the raw loop; mgx as shipped (the
SQLite writes run in a helper process where a core is free of torch's threads, e.g.
BENCH_THREADS=1 on 2 cores, else on a thread; its CPU is not this process's and is not
counted); mgx with the writes on a thread of the training process
(``tracking=dict(batch_process=False)``); mgx with them always in the helper process
(``batch_process=True``); mgx without tracking.

    python benchmarks/bench_loop_overhead.py [--rounds 5] [--iters 1500] [--conv-iters 250]
    BENCH_THREADS=1 python benchmarks/bench_loop_overhead.py --kinds mlp --variants 'mgx;mgx, --no-track'

Prints per variant the mean and median wall step, the CPU time a step (the process's, all threads;
and the training thread's median step), the stall time (time steps spend beyond 3x the median
step: GIL or CPU taken by background work) and the ratios to the raw loop round by round, median
and spread over rounds (goal: ≥ 0.95 for the tiny MLP, tracking on). On a machine shared with other
jobs the wall-clock ratios swing by ±0.3 between rounds; the CPU ratios are the ones that resolve a
few per cent (one torch thread: BENCH_THREADS=1, so no OpenMP thread spins on the CPU clock).
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
WARMUP_S = 4.0  # the tracking helper process imports MLflow in its first seconds (this process writes till then)


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
        self.times.append((time.perf_counter(), time.process_time(), time.thread_time()))


def step_times(times: list[tuple[float, ...]]) -> list[tuple[float, ...]]:
    """(wall, process CPU, training-thread CPU) durations (ms) of the steps after warm-up: the first
    WARMUP steps and the first WARMUP_S seconds are left out (start-up work such as the tracking
    helper's imports). Process CPU counts all this process's threads (mgx's tracking writer and
    system-metrics threads too; the tracking helper process is not counted); thread CPU the loop's."""
    first = next((i for i, t in enumerate(times) if i >= WARMUP and t[0] - times[0][0] >= WARMUP_S), WARMUP)
    if first >= len(times) - 1:
        raise SystemExit(f"--iters must be above the {WARMUP} warm-up steps (got {len(times) - 1})")
    return [tuple(1000 * (y - x) for x, y in zip(a, b)) for a, b in zip(times[first:], times[first + 1:])]


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
    position, logged, times = 0, [], [(time.perf_counter(), time.process_time(), time.thread_time())]
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
        times.append((time.perf_counter(), time.process_time(), time.thread_time()))
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
    config_path = workspace / f"bench_{kind}.py"  # tracking uploads the config file, as for a real run
    config_path.write_text(f"# bench_loop_overhead.py's {kind} run (its config is built in the script)\n")
    options = RunOptions(config_path=config_path, work_dir=workspace / f"work_{kind}",
                         tracking={"workspace": workspace, "experiment": "bench", **tracking})
    train(cfg, options, manager)
    return step_times(TIMER.times)


VARIANTS = {
    "raw": None,
    "mgx": {"enabled": True},  # the default: SQLite writes in the tracking helper process
    "mgx, writer thread": {"enabled": True, "batch_process": False},
    "mgx, helper process": {"enabled": True, "batch_process": True},
    "mgx, --no-track": {"enabled": False},
}


def summarize(name: str, rounds: list[list[tuple[float, ...]]], raw: list[list[tuple[float, ...]]]) -> str:
    """Per round: mean and median wall step, process and thread CPU a step; stall = wall time a step
    spent beyond 3x the round's median step. Ratios to the raw loop are taken round by round (the
    raw round beside it), their median over rounds printed with the spread: throughput (mean wall
    step), median wall step, process CPU and training-thread CPU (CPU time is what other jobs on
    a shared machine do not inflate)."""
    def column(data, index, fn):
        return [fn([step[index] for step in durations]) for durations in data]

    mean, median = column(rounds, 0, statistics.fmean), column(rounds, 0, statistics.median)
    # process CPU: the mean (background threads work in bursts); training-thread CPU: the median step
    # (a step that another job's time slice interrupts pays for refilled caches)
    cpu, thread = column(rounds, 1, statistics.fmean), column(rounds, 2, statistics.median)
    stall = [sum(max(0.0, step[0] - 3 * m) for step in durations) / len(durations)
             for durations, m in zip(rounds, median)]
    text = f"  {name:20s} mean step {statistics.median(mean):6.3f} ms  median step {statistics.median(median):6.3f} ms" \
           f"  CPU {statistics.median(cpu):6.3f} ms (thread, median step {statistics.median(thread):6.3f})" \
           f"  stall {statistics.median(stall):6.3f} ms/step"
    if raw is not rounds:
        ratios = {"throughput": (0, statistics.fmean, mean), "median-step": (0, statistics.median, median),
                  "CPU": (1, statistics.fmean, cpu), "thread CPU (median step)": (2, statistics.median, thread)}
        parts = []
        for label, (index, fn, mine) in ratios.items():
            values = [r / m for r, m in zip(column(raw, index, fn), mine)]
            parts.append(f"{label} {statistics.median(values):.3f} [{min(values):.3f}..{max(values):.3f}]")
        text += "\n  " + " " * 20 + "  ratios to raw: " + "  ".join(parts)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--iters", type=int, default=1500)
    parser.add_argument("--conv-iters", type=int, default=250)
    parser.add_argument("--kinds", default="mlp,conv", help="models to run: mlp, conv or both")
    parser.add_argument("--variants", default=";".join(VARIANTS),
                        help=f"';'-separated subset of {list(VARIANTS)} (raw is always run)")
    args = parser.parse_args()
    chosen = [name.strip() for name in args.variants.split(";")]
    unknown = [name for name in chosen if name not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {unknown}; choose from {list(VARIANTS)}")
    variants = ["raw"] + [name for name in VARIANTS if name in chosen and name != "raw"]

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
