"""StyleGAN3-T generator forward+backward at 64 px on CPU: mgx vs a straightforward reference.

No StyleGAN3 implementation installs from PyPI (its official code compiles CUDA extensions;
``alias-free-torch`` is an activation library, not the generator). The reference is therefore the
straightforward statement of the filtered non-linearity that StyleGAN3's own ``_filtered_lrelu_ref``
uses: bias, upfirdn2d with the full 2-D outer-product up filter, leaky ReLU, upfirdn2d with the full
2-D down filter, every output pixel computed then decimated. mgx filters separably (rows, then
columns: 2k instead of k² taps per pixel). The rest of the generator is the same code on both sides,
so the ratio is the filtering's. The two agree to float32 rounding (checked below before timing).

    python benchmarks/bench_stylegan3.py [--batch 4] [--rounds 5] [--threads 1] [--channels 64]

Prints images/s per implementation and the ratio mgx / reference (same process, alternating rounds,
medians).
"""
from __future__ import annotations

import argparse
import math
import statistics
import time

import torch
from torch.nn import functional as F

from mgx.plugins.models.ops.style_ops import upfirdn2d
from mgx.plugins.models.stylegan3 import modules, ops
from mgx.plugins.models.stylegan3.generator import StyleGANv3Generator


def reference_filtered_lrelu(x, up_filter, down_filter, bias, up, down, padding, gain=math.sqrt(2), slope=0.2,
                             clamp=None):
    def full_2d(taps, gain_):
        if taps is None:
            return torch.full((1, 1), float(gain_))
        return (taps if taps.dim() == 2 else torch.outer(taps, taps)) * gain_

    x = x + bias.reshape(1, -1, 1, 1)
    x = upfirdn2d(x, full_2d(up_filter, up ** 2), up=up, pad=padding)
    x = F.leaky_relu(x, slope) * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return upfirdn2d(x, full_2d(down_filter, 1), down=down)


def step(generator, z):
    generator.zero_grad(set_to_none=True)
    generator(z).square().mean().backward()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--channels", type=int, default=64, help="channel_max (config-T: 512)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    generator = StyleGANv3Generator(out_size=64, style_channels=64, noise_size=64, img_channels=3,
                                    synthesis_cfg=dict(type="SynthesisNetwork", channel_base=32768,
                                                       channel_max=args.channels))
    z = torch.randn(args.batch, 64)
    mgx_impl = ops.filtered_lrelu
    with torch.no_grad():
        ours = generator(z)
        modules.filtered_lrelu = reference_filtered_lrelu
        theirs = generator(z)
        modules.filtered_lrelu = mgx_impl
    print(f"max |mgx - reference| = {float((ours - theirs).abs().max()):.2e} (images' std {float(ours.std()):.3f})")
    times = {"mgx": [], "reference": []}
    for _ in range(args.rounds + 1):
        for name, impl in (("mgx", mgx_impl), ("reference", reference_filtered_lrelu)):
            modules.filtered_lrelu = impl
            start = time.perf_counter()
            step(generator, z)
            times[name].append(time.perf_counter() - start)
    modules.filtered_lrelu = mgx_impl
    rates = {name: args.batch / statistics.median(values[1:]) for name, values in times.items()}
    for name, rate in rates.items():
        print(f"{name:10s} {rate:8.2f} images/s (forward+backward, 64 px, batch {args.batch}, "
              f"{args.threads} thread(s), channel_max {args.channels})")
    print(f"ratio mgx / reference = {rates['mgx'] / rates['reference']:.2f}")


if __name__ == "__main__":
    main()
