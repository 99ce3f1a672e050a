"""EDSR ×2 training throughput: mgx (BaseEditModel + EDSRNet through the engine) vs a plain PyTorch loop.

Same network (EDSRNet, MMagic's definition, same initial weights), same data
(PairedDigitsDataset ×2: 16 px -> 32 px, batch 16), Adam, L1 loss on [0, 1]
images. Every variant runs in this one process, alternating order each round
(the machine is shared and noisy: only same-process ratios mean anything).
Variants: the raw loop; mgx as shipped (MLflow tracking on, SQLite store in a
temp workspace); mgx --no-track.

    python benchmarks/bench_edsr.py [--rounds 3] [--iters 300] [--mid-channels 32 --num-blocks 4]
    python benchmarks/bench_edsr.py --mid-channels 64 --num-blocks 16   # MMagic's c64b16 EDSR

Prints, per variant, images/s by wall-clock time and by the process's CPU time
(time.process_time: every thread of this process, so mgx's tracking thread
counts against it), and both ratios to the raw loop (goal ≥ 0.98). On a
machine shared with other jobs the CPU-time figure is the comparable one:
wall time then mostly measures how often the scheduler runs this process.
Also printed: the CPU time per step spent outside the model update (data
fetching, the loop, hooks, logging; for mgx everything but ``train_step``),
which is what the framework adds, measured without the noise of the update.
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from mgx.core.hookspecs import hookimpl

BATCH = 16
SCALE = 2
WARMUP = 20
WARMUP_S = 2.0


class StepTimer:
    """Run hook: the time at the end of every step, and the CPU time spent inside train_step."""

    def __init__(self) -> None:
        self.times: list[tuple[float, float]] = []
        self.inside: list[float] = []
        self._started = 0.0

    @hookimpl
    def mgx_before_train_iter(self, run, iteration, batch):
        self._started = time.process_time()

    @hookimpl
    def mgx_after_train_iter(self, run, iteration, batch, outputs):
        now = time.process_time()
        self.inside.append(now - self._started)
        self.times.append((time.perf_counter(), now))


TIMER = StepTimer()


@hookimpl
def mgx_register_run_hooks(register):
    register(lambda: TIMER, name="BenchTimer")


def step_times(times: list[tuple[float, float]], inside: list[float]) -> tuple[float, float, float]:
    """(wall, CPU, CPU outside the model update) seconds per step after the warm-up steps."""
    first = next(i for i, t in enumerate(times) if i >= WARMUP and t[0] - times[0][0] >= WARMUP_S)
    steps = len(times) - 1 - first
    cpu = (times[-1][1] - times[first][1]) / steps
    return (times[-1][0] - times[first][0]) / steps, cpu, cpu - statistics.fmean(inside[first + 1:])


def generator_cfg(args) -> dict:
    return dict(type="EDSRNet", in_channels=3, out_channels=3, mid_channels=args.mid_channels,
                num_blocks=args.num_blocks, upscale_factor=SCALE)


def raw_loop(args, iters: int) -> list[float]:
    """The hand-written loop: in-memory pairs, numpy gather of a batch, step, loss.item() every 10 steps."""
    from mgx.core.registry import build

    dataset = build(dict(type="PairedDigitsDataset", scale=SCALE, gt_size=32, split="train"), "dataset")
    lq_all = np.ascontiguousarray(dataset.lq_images[dataset.indices].transpose(0, 3, 1, 2))
    gt_all = np.ascontiguousarray(dataset.images[dataset.indices].transpose(0, 3, 1, 2))
    torch.manual_seed(0)
    net = build(generator_cfg(args), "model")
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4, betas=(0.9, 0.999))
    generator = torch.Generator().manual_seed(0)
    order, position, logged, inside = torch.randperm(len(lq_all), generator=generator), 0, [], [0.0]
    times = [(time.perf_counter(), time.process_time())]
    for step in range(iters):
        if position + BATCH > len(order):
            order, position = torch.randperm(len(lq_all), generator=generator), 0
        index = order[position:position + BATCH].numpy()
        position += BATCH
        started = time.process_time()  # the model update: what mgx's train_step does
        lq = torch.from_numpy(lq_all[index]).float().div_(255.0)
        gt = torch.from_numpy(gt_all[index]).float().div_(255.0)
        loss = torch.nn.functional.l1_loss(net(lq), gt)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        inside.append(time.process_time() - started)
        if (step + 1) % 10 == 0:
            logged.append(loss.item())
        times.append((time.perf_counter(), time.process_time()))
    return step_times(times, inside)


def mgx_loop(args, iters: int, workspace: Path, manager, tracking: dict) -> list[float]:
    from mgx.core.config import Config
    from mgx.core.run.runner import RunOptions, train

    cfg = Config({
        "model": {"type": "BaseEditModel", "generator": generator_cfg(args),
                  "pixel_loss": {"type": "L1Loss", "loss_weight": 1.0, "reduction": "mean"},
                  "data_preprocessor": {"type": "DataPreprocessor", "mean": [0., 0., 0.], "std": [255., 255., 255.]}},
        "train_dataloader": {"batch_size": BATCH, "drop_last": True,
                             "dataset": {"type": "PairedDigitsDataset", "scale": SCALE, "gt_size": 32,
                                         "split": "train", "pipeline": [{"type": "PackInputs"}]},
                             "sampler": {"type": "InfiniteSampler", "shuffle": True}},
        "optim_wrapper": {"optimizer": {"type": "Adam", "lr": 1e-4, "betas": (0.9, 0.999)}},
        "train_cfg": {"by_epoch": False, "max_iters": iters},
        "default_hooks": {"logger": {"interval": 10}, "checkpoint": {"interval": -1, "save_last": False}},
        "custom_hooks": [{"type": "BenchTimer"}],
        "randomness": {"seed": 0},
    }, filename="bench_edsr.py")
    TIMER.__init__()
    torch.manual_seed(0)
    options = RunOptions(config_path=Path("bench_edsr.py"), work_dir=workspace / "work_edsr",
                         tracking={"workspace": workspace, "experiment": "bench", **tracking})
    train(cfg, options, manager)
    return step_times(TIMER.times, TIMER.inside)


def interleaved_updates(args, steps: int) -> tuple[float, float]:
    """CPU ms of BaseEditModel.train_step and of the raw update, alternating step by step on the same
    batches (same process, same moment: immune to the machine's drift)."""
    from mgx.core.engine.optim import build_optim_wrappers
    from mgx.core.registry import build

    torch.manual_seed(0)
    model = build(dict(type="BaseEditModel", generator=generator_cfg(args), pixel_loss=dict(type="L1Loss"),
                       data_preprocessor=dict(type="DataPreprocessor", mean=[0.] * 3, std=[255.] * 3)), "model")
    optim = build_optim_wrappers(dict(optimizer=dict(type="Adam", lr=1e-4, betas=(0.9, 0.999))), model,
                                 device=torch.device("cpu"), amp=False)
    torch.manual_seed(0)
    net = build(generator_cfg(args), "model")
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4, betas=(0.9, 0.999))
    dataset = build(dict(type="PairedDigitsDataset", scale=SCALE, gt_size=32, split="train",
                         pipeline=[dict(type="PackInputs")]), "dataset")
    batches = [dataset.get_batch(list(range(i * BATCH, (i + 1) * BATCH))) for i in range(50)]

    def raw(batch):
        lq, gt = batch["lq_img"].float().div_(255.0), batch["gt_img"].float().div_(255.0)
        loss = torch.nn.functional.l1_loss(net(lq), gt)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    times: dict[str, list[float]] = {"mgx": [], "raw": []}
    for step in range(steps):
        pairs = [("mgx", lambda b: model.train_step(b, optim)), ("raw", raw)]
        for name, update in pairs if step % 2 else reversed(pairs):
            started = time.process_time()
            update(batches[step % len(batches)])
            times[name].append(time.process_time() - started)
    return (1000 * statistics.fmean(times["mgx"][WARMUP:]), 1000 * statistics.fmean(times["raw"][WARMUP:]))


VARIANTS = {"raw": None, "mgx": {"enabled": True}, "mgx, --no-track": {"enabled": False}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iters", type=int, default=300)
    parser.add_argument("--mid-channels", type=int, default=32)
    parser.add_argument("--num-blocks", type=int, default=4)
    args = parser.parse_args()

    from mgx.core.plugins import PluginManager
    from mgx.plugins import DEFAULT_PLUGINS

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "1")))
    manager = PluginManager((*DEFAULT_PLUGINS, "__main__")).activate()
    logging.getLogger("mgx").disabled = True
    workspace = Path(tempfile.mkdtemp(prefix="mgx-bench-edsr-"))
    os.chdir(workspace)
    Path("bench_edsr.py").write_text("# built in benchmarks/bench_edsr.py\n")  # the run records its config file
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), EDSR ×{SCALE} c{args.mid_channels}"
          f"b{args.num_blocks}, batch {BATCH} (16->32 px), {args.iters} steps × {args.rounds} rounds, "
          f"first {WARMUP} steps and {WARMUP_S:.0f} s excluded")
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in VARIANTS}
    for round_index in range(args.rounds):
        order = list(VARIANTS) if round_index % 2 == 0 else list(reversed(VARIANTS))
        for name in order:
            tracking = VARIANTS[name]
            wall, cpu, outside = raw_loop(args, args.iters) if tracking is None else \
                mgx_loop(args, args.iters, workspace, manager, tracking)
            results[name].append((wall, cpu, outside))
            print(f"  round {round_index + 1} {name:16s} {BATCH / wall:8.1f} images/s wall  {BATCH / cpu:8.1f} "
                  f"images/s of CPU time  {1000 * outside:6.3f} ms CPU/step outside the model update", flush=True)
    raw = results["raw"]
    for name, rounds in results.items():
        line = f"{name:16s} wall {statistics.median(BATCH / r[0] for r in rounds):7.1f} images/s  " \
               f"CPU {statistics.median(BATCH / r[1] for r in rounds):7.1f} images/s  " \
               f"outside the update {1000 * statistics.median(r[2] for r in rounds):.3f} ms/step (medians of rounds)"
        if name != "raw":
            for label, index in (("wall", 0), ("CPU", 1)):
                ratios = [r[index] / m[index] for r, m in zip(raw, rounds)]
                line += f"  {label} ratio {statistics.median(ratios):.3f} [{min(ratios):.3f}..{max(ratios):.3f}]"
        print(line)
    mgx_ms, raw_ms = interleaved_updates(args, args.iters)
    outside = {name: statistics.median(r[2] for r in rounds) * 1000 for name, rounds in results.items()}
    print(f"interleaved, step by step: train_step {mgx_ms:.2f} ms CPU, raw update {raw_ms:.2f} ms CPU "
          f"(ratio {raw_ms / mgx_ms:.3f}); framework CPU outside the update: mgx {outside['mgx']:.3f} ms, "
          f"raw loop {outside['raw']:.3f} ms per step")
    expected = (raw_ms + outside["raw"]) / (mgx_ms + outside["mgx"])
    print(f"=> throughput ratio from these parts: {expected:.3f} (tracking on; "
          f"{(raw_ms + outside['raw']) / (mgx_ms + outside['mgx, --no-track']):.3f} with --no-track)")


if __name__ == "__main__":
    main()
