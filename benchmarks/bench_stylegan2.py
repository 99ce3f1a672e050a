"""StyleGAN2 generator forward+backward at 32 px on CPU: mgx vs a reference implementation.

Reference: ``stylegan2-torch`` 1.3.0 from PyPI (a typed rewrite of rosinality's
stylegan2-pytorch: same architecture, grouped-conv modulated convolution). Its
``upfirdn2d`` exists only as a CUDA extension compiled at import, so on CPU this
script gives it rosinality's native upfirdn2d formulation (pad, flipped-kernel
conv2d on N·C single-channel maps, stride) — written below — and a stub for the
unused CUDA loader; everything else is the package's own code.

    pip install stylegan2-torch==1.3.0      # installs no other torch
    python benchmarks/bench_stylegan2.py [--batch 16] [--rounds 5] [--threads 1] [--width 32|512]

Prints images/s per implementation and the ratio mgx / reference (same process,
alternating rounds, medians). Same architecture and width on both sides: style
dim, mapping depth and channels at 4–32 px are set equal.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.nn import functional as F


def native_upfirdn2d(x, kernel, up=1, down=1, pad=(0, 0)):
    """rosinality's upfirdn2d_native (CPU path of stylegan2-pytorch), restated."""
    up_x = up_y = up if isinstance(up, int) else up[0]
    down_x = down_y = down if isinstance(down, int) else down[0]
    pad_x0, pad_x1, pad_y0, pad_y1 = (pad[0], pad[1], pad[0], pad[1]) if len(pad) == 2 else pad
    n, c, in_h, in_w = x.shape
    x = x.reshape(-1, in_h, in_w, 1)
    _, in_h, in_w, minor = x.shape
    kernel_h, kernel_w = kernel.shape
    out = x.view(-1, in_h, 1, in_w, 1, minor)
    out = F.pad(out, [0, 0, 0, up_x - 1, 0, 0, 0, up_y - 1])
    out = out.view(-1, in_h * up_y, in_w * up_x, minor)
    out = F.pad(out, [0, 0, max(pad_x0, 0), max(pad_x1, 0), max(pad_y0, 0), max(pad_y1, 0)])
    out = out[:, max(-pad_y0, 0): out.shape[1] - max(-pad_y1, 0), max(-pad_x0, 0): out.shape[2] - max(-pad_x1, 0), :]
    out = out.permute(0, 3, 1, 2)
    out = out.reshape([-1, 1, in_h * up_y + pad_y0 + pad_y1, in_w * up_x + pad_x0 + pad_x1])
    w = torch.flip(kernel, [0, 1]).view(1, 1, kernel_h, kernel_w)
    out = F.conv2d(out, w)
    out = out.reshape(-1, minor, in_h * up_y + pad_y0 + pad_y1 - kernel_h + 1,
                      in_w * up_x + pad_x0 + pad_x1 - kernel_w + 1)
    out = out.permute(0, 2, 3, 1)[:, ::down_y, ::down_x, :]
    out_h = (in_h * up_y + pad_y0 + pad_y1 - kernel_h) // down_y + 1
    out_w = (in_w * up_x + pad_x0 + pad_x1 - kernel_w) // down_x + 1
    return out.reshape(n, c, out_h, out_w)


def reference_generator(style: int, mlps: int, width: int):
    import torch.utils.cpp_extension as cpp_extension

    real_load = cpp_extension.load
    cpp_extension.load = lambda *args, **kwargs: None  # the CUDA ops are not used on CPU
    try:
        import stylegan2_torch.equalized_lr as equalized_lr
        import stylegan2_torch.generator.rgb as rgb
        from stylegan2_torch import Generator
    finally:
        cpp_extension.load = real_load
    equalized_lr.upfirdn2d = native_upfirdn2d
    rgb.upfirdn2d = native_upfirdn2d
    channels = {r: width for r in (4, 8, 16, 32)}
    return Generator(32, latent_dim=style, n_mlp=mlps, channels=channels)


def mgx_generator(style: int, mlps: int, width: int):
    from mgx.plugins.models.stylegan2 import StyleGANv2Generator

    return StyleGANv2Generator(32, style_channels=style, num_mlps=mlps, channel_max=width)


def time_step(step, batch: int, repeats: int) -> float:
    started = time.perf_counter()
    for _ in range(repeats):
        step()
    return batch * repeats / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--width", type=int, default=32, help="channels at 4-32 px (32: configs/stylegan2_digits.py; "
                                                              "512: MMagic's StyleGAN2)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    style, mlps = (64, 4) if args.width <= 64 else (512, 8)
    torch.manual_seed(0)
    ours, ref = mgx_generator(style, mlps, args.width), reference_generator(style, mlps, args.width)
    n_ours = sum(p.numel() for p in ours.parameters())
    n_ref = sum(p.numel() for p in ref.parameters())
    z = torch.randn(args.batch, style)

    def step_ours():
        ours.zero_grad(set_to_none=True)
        ours([z], randomize_noise=True).square().mean().backward()

    def step_ref():
        ref.zero_grad(set_to_none=True)
        ref([z]).square().mean().backward()

    step_ours(), step_ref()  # warm-up
    rates = {"mgx": [], "reference": []}
    for _ in range(args.rounds):
        rates["mgx"].append(time_step(step_ours, args.batch, args.repeats))
        rates["reference"].append(time_step(step_ref, args.batch, args.repeats))
    ratios = [a / b for a, b in zip(rates["mgx"], rates["reference"])]
    print(f"StyleGAN2 generator fwd+bwd, 32 px, batch {args.batch}, width {args.width}, style {style}, "
          f"{mlps} MLPs, {args.threads} thread(s); parameters mgx {n_ours:,} / reference {n_ref:,}")
    for name, values in rates.items():
        print(f"  {name:10s} {statistics.median(values):8.2f} images/s  (rounds: "
              + ", ".join(f"{v:.2f}" for v in values) + ")")
    print(f"  ratio mgx/reference: median {statistics.median(ratios):.2f} [{min(ratios):.2f}..{max(ratios):.2f}]")


if __name__ == "__main__":
    main()
