"""Resume cost at iteration 10 vs 10,000: the sampler seeks, so both should cost the same.

A tiny DCGAN trains 10 iterations and checkpoints; a copy of that checkpoint is
relabelled as iteration 10,000 (scheduler and optimizer states unchanged: only
the position matters here). Each round resumes both, alternating, and times
resume + 10 more iterations in this process.

    python benchmarks/bench_resume_cost.py [--rounds 5]

Prints the median wall time of each and the ratio (goal: within 10 %).
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

CONFIG = """
model = dict(type='DCGAN', latent_dim=16, image_size=16, channels=3, base_channels=8)
train_dataloader = dict(batch_size=32, drop_last=True,
    dataset=dict(type='DigitsDataset', image_size=16, split='train', pipeline=[dict(type='PackInputs')]),
    sampler=dict(type='InfiniteSampler', shuffle=True))
optim_wrapper = dict(generator=dict(optimizer=dict(type='Adam', lr=2e-4)),
                     discriminator=dict(optimizer=dict(type='Adam', lr=2e-4)))
train_cfg = dict(by_epoch=False, max_iters=10)
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=10, save_last=False))
randomness = dict(seed=1)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from mgx.core.config import load_config
    from mgx.core.plugins import PluginManager
    from mgx.core.run.runner import RunOptions, train
    from mgx.plugins import DEFAULT_PLUGINS

    manager = PluginManager(DEFAULT_PLUGINS).activate()
    folder = Path(tempfile.mkdtemp(prefix="mgx-bench-resume-"))
    os.chdir(folder)
    config = folder / "tiny.py"
    config.write_text(CONFIG)
    logging.getLogger("mgx").disabled = True
    first = folder / "first"
    train(load_config(config), RunOptions(config_path=config, work_dir=first, tracking={"enabled": False}), manager)
    state = torch.load(first / "iter_10.pth", weights_only=True)
    state["meta"]["iteration"] = 10_000
    torch.save(state, first / "relabelled_iter_10000.pth")

    timings: dict[int, list[float]] = {10: [], 10_000: []}
    for round_index in range(args.rounds):
        order = (10, 10_000) if round_index % 2 == 0 else (10_000, 10)
        for start in order:
            source = first / ("iter_10.pth" if start == 10 else "relabelled_iter_10000.pth")
            work = folder / f"resume_{start}_{round_index}"
            cfg = load_config(config, [f"train_cfg.max_iters={start + 10}", "default_hooks.checkpoint.interval=-1"])
            began = time.perf_counter()
            train(cfg, RunOptions(config_path=config, work_dir=work, resume=str(source), tracking={"enabled": False}),
                  manager)
            timings[start].append(time.perf_counter() - began)
    low, high = statistics.median(timings[10]), statistics.median(timings[10_000])
    print(f"resume + 10 iterations: from iteration 10 {low:.3f} s, from iteration 10,000 {high:.3f} s "
          f"(medians of {args.rounds}); ratio {high / low:.3f} (goal ≤ 1.10)")


if __name__ == "__main__":
    main()
