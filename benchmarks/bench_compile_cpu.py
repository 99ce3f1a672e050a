"""``compile=True`` (inductor) vs eager on the CPU: EDSR x4 train steps, 64 px output, one process.

The eager and the compiled model (same weights, same batch) step alternately (ABAB...), so both see
the same machine state; each step is timed on the wall clock and in CPU time of this process
(``time.process_time``; with one torch thread it is the work itself, which other jobs on a shared
machine do not inflate the way they inflate the wall clock). The compiled model's first step
compiles (inductor generates and builds C++ with the system compiler); its time is printed apart.

Widths: ``--width quick`` is gpu_check's ``--quick`` EDSR (8 channels, 2 blocks, batch 2), ``--width
check`` the one its CPU rows use (MMagic's c64b16, batch 16).

    python benchmarks/bench_compile_cpu.py [--width quick|check] [--steps 20] [--threads 1]
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

SIZE = 64


def build(compiled: bool, quick: bool):
    """gpu_check's EDSR model, its optimizer and batch, through mgx's ``compile`` switch."""
    import gpu_check
    from mgx.core.config.loader import Config
    from mgx.core.engine.speed import accelerate

    torch.manual_seed(0)
    model = gpu_check.edsr(quick)
    accelerate(model, None, Config({"compile": compiled}, filename="bench_compile_cpu"), logging.getLogger("bench"))
    return model, gpu_check.optim_for(model, "edsr"), gpu_check.batch_for("edsr", SIZE, 2 if quick else 16)


def timed_step(model, optim, batch) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    model.train_step(batch, optim)
    return 1000 * (time.perf_counter() - wall), 1000 * (time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", choices=("quick", "check"), default="quick")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per model, alternating")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    from mgx.core.plugins import PluginManager
    from mgx.plugins import DEFAULT_PLUGINS

    torch.set_num_threads(args.threads)
    PluginManager(DEFAULT_PLUGINS).activate()
    quick = args.width == "quick"
    models = {"eager": build(False, quick), "compiled": build(True, quick)}
    first = {}
    for name, parts in models.items():
        first[name] = timed_step(*parts)  # the compiled model compiles here
        timed_step(*parts)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in models}
    for step in range(args.steps):
        for name in (("eager", "compiled") if step % 2 == 0 else ("compiled", "eager")):
            times[name].append(timed_step(*models[name]))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), EDSR x4 {args.width} width, "
          f"{SIZE} px output, batch {2 if quick else 16}, {args.steps} alternating steps each; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"compiled model's first step (compilation): {first['compiled'][0] / 1000:.1f} s wall, "
          f"{first['compiled'][1] / 1000:.1f} s CPU")
    medians = {name: [statistics.median(t[i] for t in times[name]) for i in (0, 1)] for name in times}
    for name, (wall, cpu) in medians.items():
        print(f"  {name:8s} median step {wall:8.2f} ms wall  {cpu:8.2f} ms CPU")
    print(f"compiled / eager: {medians['compiled'][0] / medians['eager'][0]:.3f} wall, "
          f"{medians['compiled'][1] / medians['eager'][1]:.3f} CPU")


if __name__ == "__main__":
    main()
