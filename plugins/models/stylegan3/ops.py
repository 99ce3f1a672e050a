"""StyleGAN3's alias-free operations in plain torch (no compiled extension, so CPU = CUDA code path).

* ``design_lowpass_filter``: the Kaiser-windowed FIR low-pass filters of the paper (separable
  ``firwin`` taps, or a radial jinc filter for config-R's non-critically sampled layers).
* ``filtered_lrelu``: bias → upsample by ``up`` with the up filter (gain up²) → leaky ReLU ·
  gain, clamped → low-pass with the down filter and keep every ``down``-th sample. The
  non-linearity runs at the raised sampling rate, so the aliases it creates are filtered out.
* ``modulated_conv2d``: StyleGAN3's modulated convolution (styles and weights pre-normalised,
  per-input-channel ``input_gain``), "full" padding so a layer's margin grows by k−1.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional as F

from ..ops.style_ops import upfirdn2d


def design_lowpass_filter(numtaps: int, cutoff: float, width: float, fs: float,
                          radial: bool = False) -> torch.Tensor | None:
    """1-D taps (``radial=False``) or a 2-D radial filter; None for a single tap (no filtering)."""
    import scipy.signal
    import scipy.special

    if numtaps < 1:
        raise ValueError(f"design_lowpass_filter: numtaps must be >= 1, got {numtaps}")
    if numtaps == 1:
        return None
    if not radial:
        return torch.as_tensor(scipy.signal.firwin(numtaps=numtaps, cutoff=cutoff, width=width, fs=fs),
                               dtype=torch.float32)
    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = np.hypot(*np.meshgrid(x, x))
    taps = scipy.special.j1(2 * cutoff * (np.pi * r)) / (np.pi * r)
    beta = scipy.signal.kaiser_beta(scipy.signal.kaiser_atten(numtaps, width / (fs / 2)))
    window = np.kaiser(numtaps, beta)
    taps = taps * np.outer(window, window)
    return torch.as_tensor(taps / np.sum(taps), dtype=torch.float32)


def _fir_axis(x: torch.Tensor, taps: torch.Tensor, axis: int, up: int, down: int, pad: tuple[int, int],
              gain: float) -> torch.Tensor:
    """upfirdn along one axis (3: x, 2: y): zero-insert ×up, pad (negative crops), convolve, keep every down-th.

    Upsampling is a transposed convolution (the inserted zeros are never multiplied); its full output
    is then padded/cropped to what zero insertion + padding + a valid convolution gives."""
    c, k = x.shape[1], taps.numel()
    shape, stride = ((1, k), (1, down)) if axis == 3 else ((k, 1), (down, 1))
    taps = (taps * gain).to(dtype=x.dtype, device=x.device)
    if up > 1:
        weight = taps.reshape(1, 1, *shape).expand(c, 1, *shape)
        x = F.conv_transpose2d(x, weight, stride=(1, up) if axis == 3 else (up, 1), groups=c)
        left, right = pad[0] - k + 1, pad[1] + up - k
        x = F.pad(x, [left, right, 0, 0] if axis == 3 else [0, 0, left, right])
        return x[:, :, :, ::down] if axis == 3 else x[:, :, ::down, :]
    x = F.pad(x, [pad[0], pad[1], 0, 0] if axis == 3 else [0, 0, pad[0], pad[1]])
    weight = taps.flip(0).reshape(1, 1, *shape).expand(c, 1, *shape)
    return F.conv2d(x, weight, stride=stride, groups=c)


def _fir(x: torch.Tensor, taps: torch.Tensor | None, up: int = 1, down: int = 1,
         pad: tuple[int, int, int, int] = (0, 0, 0, 0), gain: float = 1.0) -> torch.Tensor:
    """upfirdn2d; 1-D taps are applied separably (per axis, only the kept samples computed), 2-D taps
    (radial filters) directly."""
    if taps is None:
        return upfirdn2d(x, torch.full((1, 1), gain), up=up, down=down, pad=pad)
    if taps.dim() == 2:
        return upfirdn2d(x, taps * gain, up=up, down=down, pad=pad)
    axis_gain = math.sqrt(gain)
    x = _fir_axis(x, taps, 3, up, down, (pad[0], pad[1]), axis_gain)
    return _fir_axis(x, taps, 2, up, down, (pad[2], pad[3]), axis_gain)


def filtered_lrelu(x: torch.Tensor, up_filter: torch.Tensor | None, down_filter: torch.Tensor | None,
                   bias: torch.Tensor | None, up: int, down: int, padding: tuple[int, int, int, int],
                   gain: float = math.sqrt(2), slope: float = 0.2, clamp: float | None = None) -> torch.Tensor:
    """``padding`` = (x0, x1, y0, y1) applied at the upsampled rate, before the up filter."""
    if bias is not None:
        x = x + bias.to(x.dtype).reshape(1, -1, 1, 1)
    x = _fir(x, up_filter, up=up, pad=padding, gain=up ** 2)
    x = F.leaky_relu(x, slope) * gain if slope != 1 else x * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return _fir(x, down_filter, down=down)


def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, demodulate: bool = True,
                     padding: int = 0, input_gain: torch.Tensor | None = None) -> torch.Tensor:
    batch, in_channels = x.shape[0], weight.shape[1]
    out_channels, _, kh, kw = weight.shape
    if demodulate:
        # pre-normalise, so large styles/weights cannot overflow in reduced precision
        weight = weight * weight.square().mean([1, 2, 3], keepdim=True).rsqrt()
        styles = styles * styles.square().mean().rsqrt()
    per_sample = weight.unsqueeze(0) * styles[:, None, :, None, None]
    if demodulate:
        per_sample = per_sample * (per_sample.square().sum(dim=[2, 3, 4], keepdim=True) + 1e-8).rsqrt()
    if input_gain is not None:
        per_sample = per_sample * input_gain.expand(batch, in_channels)[:, None, :, None, None]
    grouped = per_sample.reshape(batch * out_channels, in_channels, kh, kw).to(x.dtype)
    y = F.conv2d(x.reshape(1, batch * in_channels, *x.shape[2:]), grouped, padding=padding, groups=batch)
    return y.reshape(batch, out_channels, *y.shape[2:])
