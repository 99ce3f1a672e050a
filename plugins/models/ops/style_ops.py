"""StyleGAN's building operations written with plain torch ops.

* ``upfirdn2d``: upsample by zero insertion, pad (negative pads crop), filter with
  a 2-D FIR kernel, downsample by striding — the primitive behind blur, ×2
  up-sampling of the RGB skip path and the discriminator's anti-aliased down-sampling.
* ``fused_bias_leaky_relu``: bias, leaky ReLU (slope 0.2) and the √2 gain that keeps
  activations at unit variance.
* ``modulated_conv2d``: StyleGAN2's per-sample modulated (and demodulated) convolution,
  one grouped convolution for the whole batch.

No compiled extension is involved, so the same code runs on CPU, CUDA and under
``torch.autocast``; tests compare each against a float64 statement of its definition.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch.nn import functional as F


def make_kernel(taps: Sequence[float], gain: float = 1.0) -> torch.Tensor:
    """A separable 1-D tap list -> a normalised 2-D FIR kernel (sums to ``gain``)."""
    kernel = torch.as_tensor(taps, dtype=torch.float32)
    if kernel.dim() == 1:
        kernel = kernel[:, None] * kernel[None, :]
    return kernel / kernel.sum() * gain


def upfirdn2d(x: torch.Tensor, kernel: torch.Tensor, up: int = 1, down: int = 1,
              pad: Sequence[int] = (0, 0)) -> torch.Tensor:
    """Upsample, pad, FIR-filter (true convolution with ``kernel``), downsample; per channel.

    ``pad`` is ``(p0, p1)`` for both axes, or ``(x0, x1, y0, y1)``; negative values crop.
    """
    if len(pad) == 2:
        pad = (pad[0], pad[1], pad[0], pad[1])
    x0, x1, y0, y1 = (int(p) for p in pad)
    n, c, h, w = x.shape
    if up > 1:
        # zero insertion: every pixel followed by up-1 zeros along each axis
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)
    x = F.pad(x, [max(x0, 0), max(x1, 0), max(y0, 0), max(y1, 0)])
    x = x[:, :, max(-y0, 0):x.shape[2] - max(-y1, 0), max(-x0, 0):x.shape[3] - max(-x1, 0)]
    weight = kernel.flip([0, 1]).to(dtype=x.dtype, device=x.device)
    weight = weight[None, None].expand(c, 1, *kernel.shape)
    return F.conv2d(x, weight, stride=down, groups=c)


def fused_bias_leaky_relu(x: torch.Tensor, bias: torch.Tensor | None, negative_slope: float = 0.2,
                          scale: float = math.sqrt(2.0)) -> torch.Tensor:
    """``leaky_relu(x + bias) * scale`` with ``bias`` broadcast along dim 1."""
    if bias is not None:
        x = x + bias.to(x.dtype).reshape((1, -1) + (1,) * (x.dim() - 2))
    return F.leaky_relu(x, negative_slope) * scale


def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, *, demodulate: bool = True,
                     up: bool = False, down: bool = False, blur_kernel: torch.Tensor | None = None,
                     eps: float = 1e-8, padding: int | None = None) -> torch.Tensor:
    """Convolve sample i of ``x`` (N×I×H×W) with ``weight`` (O×I×k×k) scaled per input channel by
    ``styles[i]`` (N×I), each output filter renormalised to unit norm when ``demodulate``.

    ``up``: transposed stride-2 convolution followed by the blur ``blur_kernel`` (×4 gain);
    ``down``: blur, then stride-2 convolution. Otherwise ``padding`` (default: "same" padding).
    """
    n, in_channels, h, w = x.shape
    out_channels, _, k, _ = weight.shape
    per_sample = weight[None] * styles[:, None, :, None, None].to(weight.dtype)  # N×O×I×k×k
    if demodulate:
        per_sample = per_sample * torch.rsqrt(per_sample.square().sum(dim=[2, 3, 4], keepdim=True) + eps)
    per_sample = per_sample.to(x.dtype)
    if up:
        if blur_kernel is None:
            raise ValueError("modulated_conv2d(up=True) needs blur_kernel")
        # conv_transpose2d takes in×out/groups weights: (N·I)×O×k×k
        transposed = per_sample.transpose(1, 2).reshape(n * in_channels, out_channels, k, k)
        y = F.conv_transpose2d(x.reshape(1, n * in_channels, h, w), transposed, stride=2, groups=n)
        y = y.reshape(n, out_channels, *y.shape[2:])
        pad = len(blur_kernel) - 2 - (k - 1)
        return upfirdn2d(y, blur_kernel, pad=((pad + 1) // 2 + 1, pad // 2 + 1))
    grouped = per_sample.reshape(n * out_channels, in_channels, k, k)
    if down:
        if blur_kernel is None:
            raise ValueError("modulated_conv2d(down=True) needs blur_kernel")
        pad = len(blur_kernel) - 2 + (k - 1)
        x = upfirdn2d(x, blur_kernel, pad=((pad + 1) // 2, pad // 2))
        y = F.conv2d(x.reshape(1, n * in_channels, *x.shape[2:]), grouped, stride=2, groups=n)
    else:
        y = F.conv2d(x.reshape(1, n * in_channels, h, w), grouped, padding=k // 2 if padding is None else padding,
                     groups=n)
    return y.reshape(n, out_channels, *y.shape[2:])
