"""Restormer forward + backward on CPU: images/s at 64×64, mgx vs a straightforward reference, one process.

No Restormer installs from PyPI (no `restormer` package; BasicSR 1.4.2 ships no Restormer architecture), so
the reference is the authors' formulation written out plainly: every layer norm reshapes the feature map to
tokens (N×HW×C), normalises over the last axis and reshapes back, as the published code does with
``to_3d``/``to_4d``. mgx normalises along the channel axis in place (``ops.channel_attention``). Both run
the same weights (the outputs are checked equal first) at MMagic's published width (dim 48, blocks
[4, 6, 6, 8], 4 refinement blocks) unless ``--tiny``. Rounds alternate between the two so machine load
hits both alike; the script prints medians and the ratio.

    python benchmarks/bench_restormer.py [--rounds 5] [--batch 2] [--threads 2] [--tiny]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from mgx.plugins.models.ops.channel_attention import ChannelLayerNorm
from mgx.plugins.models.restormer.restormer_net import Restormer


class TokenLayerNorm(nn.Module):
    """The reference's layer norm: N×C×H×W -> N×HW×C, normalise the last axis, back to N×C×H×W."""

    def __init__(self, norm: ChannelLayerNorm) -> None:
        super().__init__()
        self.weight, self.bias, self.eps = norm.body.weight, norm.body.bias, norm.eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2)
        mean = tokens.mean(-1, keepdim=True)
        var = tokens.var(-1, keepdim=True, unbiased=False)
        if self.bias is None:
            normed = tokens / torch.sqrt(var + self.eps) * self.weight
        else:
            normed = (tokens - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias
        return normed.transpose(1, 2).reshape(n, c, h, w)


def reference_from(net: Restormer) -> Restormer:
    """A copy of ``net`` (same parameters, shared) whose layer norms are the token-layout ones."""
    import copy

    reference = copy.deepcopy(net)
    for module in list(reference.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, ChannelLayerNorm):
                setattr(module, name, TokenLayerNorm(child))
    return reference


def images_per_second(net: nn.Module, batch: torch.Tensor, steps: int) -> float:
    started = time.perf_counter()
    for _ in range(steps):
        net.zero_grad(set_to_none=True)
        net(batch).square().mean().backward()
    return steps * batch.shape[0] / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=2, help="forward+backward steps per timed round")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tiny", action="store_true", help="dim 8, one block per level (a quick smoke run)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    arguments = dict(dim=8, num_blocks=[1, 1, 1, 1], num_refinement_blocks=1) if args.tiny else {}
    nets = {"mgx": Restormer(LayerNorm_type="WithBias", **arguments)}
    nets["reference"] = reference_from(nets["mgx"])
    batch = torch.rand(args.batch, 3, args.size, args.size)
    with torch.no_grad():
        torch.testing.assert_close(nets["mgx"](batch), nets["reference"](batch), rtol=1e-4, atol=1e-4)
    for net in nets.values():
        images_per_second(net, batch, 1)  # warm-up
    timings: dict[str, list[float]] = {name: [] for name in nets}
    for round_index in range(args.rounds):
        order = list(nets) if round_index % 2 == 0 else list(nets)[::-1]
        for name in order:
            timings[name].append(images_per_second(nets[name], batch, args.steps))
    width = "tiny" if args.tiny else "published (dim 48, [4, 6, 6, 8])"
    print(f"Restormer {width}, {args.size}×{args.size}, batch {args.batch}, {args.threads} thread(s), "
          f"forward+backward, {args.rounds} rounds × {args.steps} steps")
    for name, values in timings.items():
        print(f"  {name:9s}: median {statistics.median(values):7.3f} images/s  "
              f"(min {min(values):.3f}, max {max(values):.3f})")
    ratio = statistics.median(timings["mgx"]) / statistics.median(timings["reference"])
    print(f"  mgx / reference: {ratio:.2f}×")


if __name__ == "__main__":
    main()
