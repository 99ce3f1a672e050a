"""Loop overhead: mgx (tracking on) vs a hand-written PyTorch loop, same model, data and steps.

Both variants run in this one process, alternating, several rounds (this machine
is shared and noisy; a fresh process may be in a fast or a slow state, so only
same-process ratios mean anything). Both log the loss every 10 steps: the raw
loop keeps ``loss.item()`` in a list, mgx sends interval means to MLflow
(SQLite store in a temp workspace) through its background writer.

    python benchmarks/bench_loop_overhead.py [--rounds 5] [--iters 600]

Prints steps/s of each variant and the ratio mgx / raw (goals: ≥ 0.98 for the
small conv net, ≥ 0.90 for the tiny MLP, i.e. ≤ 0.1 ms of framework time a step).
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
    """Run hook: wall time from the end of warm-up to the last step."""

    def __init__(self) -> None:
        self.start = self.end = 0.0
        self.steps = 0

    @hookimpl
    def mgx_after_train_iter(self, run, iteration, batch, outputs):
        if iteration + 1 == WARMUP:
            self.start = time.perf_counter()
        elif iteration + 1 > WARMUP:
            self.end = time.perf_counter()
            self.steps += 1


TIMER = StepTimer()


@hookimpl
def mgx_register_models(register):
    register(Classifier, name="BenchClassifier")


@hookimpl
def mgx_register_run_hooks(register):
    register(lambda: TIMER, name="BenchTimer")


def raw_loop(kind: str, iters: int) -> float:
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
    position, logged = 0, []
    start = 0.0
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
        if step + 1 == WARMUP:
            start = time.perf_counter()
    return (iters - WARMUP) / (time.perf_counter() - start)


def mgx_loop(kind: str, iters: int, workspace: Path, manager) -> float:
    from mgx.core.config import Config
    from mgx.core.runner import RunOptions, train

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
                         tracking={"workspace": workspace, "experiment": "bench", "enabled": True})
    train(cfg, options, manager)
    return TIMER.steps / (TIMER.end - TIMER.start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--iters", type=int, default=600)
    parser.add_argument("--conv-iters", type=int, default=250)
    args = parser.parse_args()

    import logging

    from mgx.core.plugins import PluginManager
    from mgx.plugins import DEFAULT_PLUGINS

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    manager = PluginManager((*DEFAULT_PLUGINS, "__main__")).activate()
    logging.getLogger("mgx").disabled = True
    workspace = Path(tempfile.mkdtemp(prefix="mgx-bench-loop-"))
    os.chdir(workspace)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {BATCH}, "
          f"{args.rounds} rounds, warm-up {WARMUP} steps excluded")
    for kind, iters in (("mlp", args.iters), ("conv", args.conv_iters)):
        ratios, raw_rates, mgx_rates = [], [], []
        for round_index in range(args.rounds):
            first_raw = round_index % 2 == 0  # alternate the order
            rates = {}
            for variant in (("raw", "mgx") if first_raw else ("mgx", "raw")):
                rates[variant] = raw_loop(kind, iters) if variant == "raw" else mgx_loop(kind, iters, workspace, manager)
            raw_rates.append(rates["raw"])
            mgx_rates.append(rates["mgx"])
            ratios.append(rates["mgx"] / rates["raw"])
        raw_ms, mgx_ms = 1000 / statistics.median(raw_rates), 1000 / statistics.median(mgx_rates)
        print(f"{kind:5s} raw {statistics.median(raw_rates):8.1f} steps/s ({raw_ms:.3f} ms)  "
              f"mgx {statistics.median(mgx_rates):8.1f} steps/s ({mgx_ms:.3f} ms)  "
              f"ratio mgx/raw median {statistics.median(ratios):.3f} "
              f"[{min(ratios):.3f}..{max(ratios):.3f}]  framework time {mgx_ms - raw_ms:+.3f} ms/step")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
