"""StyleGAN2's pure-torch ops against float64 statements of their definitions."""
import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from mgx.plugins.models.ops.style_ops import fused_bias_leaky_relu, make_kernel, modulated_conv2d, upfirdn2d


def upfirdn2d_reference(x: np.ndarray, kernel: np.ndarray, up: int, down: int, pad: tuple) -> np.ndarray:
    """Definition, one output pixel at a time: zero-insert, pad/crop, convolve (flipped kernel), decimate."""
    n, c, h, w = x.shape
    upsampled = np.zeros((n, c, h * up, w * up))
    upsampled[:, :, ::up, ::up] = x
    x0, x1, y0, y1 = pad
    padded = np.zeros((n, c, h * up + max(y0, 0) + max(y1, 0), w * up + max(x0, 0) + max(x1, 0)))
    padded[:, :, max(y0, 0):max(y0, 0) + h * up, max(x0, 0):max(x0, 0) + w * up] = upsampled
    padded = padded[:, :, max(-y0, 0):padded.shape[2] - max(-y1, 0), max(-x0, 0):padded.shape[3] - max(-x1, 0)]
    kh, kw = kernel.shape
    flipped = kernel[::-1, ::-1]
    out_h, out_w = padded.shape[2] - kh + 1, padded.shape[3] - kw + 1
    out = np.zeros((n, c, out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            out[:, :, i, j] = (padded[:, :, i:i + kh, j:j + kw] * flipped).sum(axis=(2, 3))
    return out[:, :, ::down, ::down]


@pytest.mark.parametrize("up,down,pad", [(1, 1, (1, 2, 1, 2)), (2, 1, (2, 1, 2, 1)), (1, 2, (1, 1, 1, 1)),
                                         (2, 2, (-1, 2, 0, -1))])
def test_upfirdn2d_matches_its_definition(up, down, pad):
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, 7, 6, generator=gen)
    kernel = torch.rand(4, 3, generator=gen)  # asymmetric: checks the flip
    got = upfirdn2d(x, kernel, up=up, down=down, pad=pad).double().numpy()
    expected = upfirdn2d_reference(x.double().numpy(), kernel.double().numpy(), up, down, pad)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_fused_bias_leaky_relu_definition():
    x, bias = torch.randn(3, 4, 2, 2), torch.randn(4)
    expected = (x.double() + bias.double()[None, :, None, None])
    expected = torch.where(expected >= 0, expected, 0.2 * expected) * math.sqrt(2)
    torch.testing.assert_close(fused_bias_leaky_relu(x, bias).double(), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mode", ["same", "up", "down"])
@pytest.mark.parametrize("demodulate", [True, False])
def test_modulated_conv2d_is_a_per_sample_convolution(mode, demodulate):
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(3, 4, 8, 8, generator=gen)
    weight = torch.randn(5, 4, 3, 3, generator=gen)
    styles = torch.rand(3, 4, generator=gen) + 0.5
    blur = make_kernel([1, 3, 3, 1], 4.0 if mode == "up" else 1.0)
    got = modulated_conv2d(x, weight, styles, demodulate=demodulate, up=mode == "up", down=mode == "down",
                           blur_kernel=blur).double()
    rows = []
    for i in range(3):
        w = weight.double() * styles[i].double()[None, :, None, None]
        if demodulate:
            w = w / torch.sqrt((w ** 2).sum(dim=(1, 2, 3), keepdim=True) + 1e-8)
        xi = x[i:i + 1].double()
        if mode == "up":  # transposed conv stride 2, then blur with pad (1, 1)
            y = F.conv_transpose2d(xi, w.transpose(0, 1), stride=2)
            rows.append(torch.from_numpy(upfirdn2d_reference(y.numpy(), blur.double().numpy(), 1, 1, (1, 1, 1, 1))))
        elif mode == "down":  # blur with pad (2, 2), then conv stride 2
            y = torch.from_numpy(upfirdn2d_reference(xi.numpy(), blur.double().numpy(), 1, 1, (2, 2, 2, 2)))
            rows.append(F.conv2d(y, w, stride=2))
        else:
            rows.append(F.conv2d(xi, w, padding=1))
    expected = torch.cat(rows)
    assert got.shape == expected.shape == {"same": (3, 5, 8, 8), "up": (3, 5, 16, 16), "down": (3, 5, 4, 4)}[mode]
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_ops_run_under_cpu_autocast():
    x, weight, styles = torch.randn(2, 4, 8, 8), torch.randn(4, 4, 3, 3), torch.rand(2, 4) + 0.5
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = modulated_conv2d(x, weight, styles, up=True, blur_kernel=make_kernel([1, 3, 3, 1], 4.0))
    assert y.shape == (2, 4, 16, 16) and torch.isfinite(y.float()).all()
