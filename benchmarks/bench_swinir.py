"""SwinIR forward+backward throughput on CPU: mgx's SwinIRNet vs spandrel's SwinIR (the authors' code as
packaged on PyPI: ``pip install spandrel``; einops and safetensors are its only extra imports).

Both networks are built from the same MMagic config (default: the lightweight ×2 config
swinir_x2s64w8d4e60; ``--config classical`` for swinir_x2s48w8d6e180 at 64 px), spandrel's gets mgx's
weights with a strict load (same keys: MMagic's, the authors'), and their outputs on the same input are
compared first. Then rounds alternate the two (one process; the machine may be shared) timing
forward + L1 loss + backward on a batch of 64×64 inputs.

    python benchmarks/bench_swinir.py [--rounds 3] [--steps 3] [--batch 2] [--config lightweight|classical]

Prints images/s by wall clock and by this process's CPU time for each, and the ratio mgx / spandrel.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

CONFIGS = {  # MMagic 1.2.0's generator settings (upscale 2)
    "lightweight": dict(img_size=64, window_size=8, img_range=1.0, depths=[6] * 4, embed_dim=60,
                        num_heads=[6] * 4, mlp_ratio=2, upsampler="pixelshuffledirect", resi_connection="1conv"),
    "classical": dict(img_size=48, window_size=8, img_range=1.0, depths=[6] * 6, embed_dim=180,
                      num_heads=[6] * 6, mlp_ratio=2, upsampler="pixelshuffle", resi_connection="1conv"),
}


def build_pair(config: str) -> tuple[torch.nn.Module, torch.nn.Module]:
    from mgx.core.plugins import PluginManager
    from mgx.core.registry import build

    try:
        from spandrel.architectures.SwinIR.__arch.SwinIR import SwinIR
    except ImportError as exc:
        raise SystemExit(f"bench_swinir needs the reference: pip install spandrel einops safetensors ({exc})")
    PluginManager(["mgx.plugins.models"]).activate()
    settings = dict(CONFIGS[config], in_chans=3, upscale=2)
    ours = build(dict(type="SwinIRNet", **settings), "model")
    reference = SwinIR(**settings)
    reference.load_state_dict(ours.state_dict(), strict=True)  # same keys and shapes, or this fails
    return ours, reference


def images_per_s(net: torch.nn.Module, batch: torch.Tensor, target: torch.Tensor, steps: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        net.zero_grad(set_to_none=True)
        loss = torch.nn.functional.l1_loss(net(batch), target)
        loss.backward()
    count = steps * len(batch)
    return count / (time.perf_counter() - wall), count / (time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", choices=sorted(CONFIGS), default="lightweight")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch", type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(0)
    ours, reference = build_pair(args.config)
    batch = torch.rand(args.batch, 3, 64, 64)
    target = torch.rand(args.batch, 3, 128, 128)
    with torch.no_grad():
        difference = (ours.eval()(batch) - reference.eval()(batch)).abs().max().item()
    print(f"SwinIR {args.config} x2, 64x64 inputs, batch {args.batch}, {torch.get_num_threads()} thread(s); "
          f"max |mgx - spandrel| output difference with the same weights: {difference:.2e}")
    ours.train(), reference.train()
    images_per_s(ours, batch, target, 1), images_per_s(reference, batch, target, 1)  # warm-up
    results: dict[str, list[tuple[float, float]]] = {"mgx": [], "spandrel": []}
    for round_index in range(args.rounds):
        order = [("mgx", ours), ("spandrel", reference)]
        for name, net in order if round_index % 2 == 0 else order[::-1]:
            results[name].append(images_per_s(net, batch, target, args.steps))
    for name, runs in results.items():
        print(f"{name:9s} {statistics.median(r[0] for r in runs):7.2f} images/s (wall)  "
              f"{statistics.median(r[1] for r in runs):7.2f} images/s (CPU time)")
    for index, label in ((0, "wall"), (1, "CPU time")):
        ratio = statistics.median(r[index] for r in results["mgx"]) / statistics.median(
            r[index] for r in results["spandrel"])
        print(f"ratio mgx / spandrel ({label}): {ratio:.3f}")


if __name__ == "__main__":
    main()
