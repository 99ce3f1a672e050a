"""EQ-R with StyleGAN3's filtered rotation: operators against their definitions, and the metric on toys."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from metric_test_nets import WaveGenerator, run_metrics
from mgx.plugins.metrics.functional.rotation import (bandlimit_filter, filtered_rotation, pseudo_rotation,
                                                     sg3_rotation)


def _psnr(a, b, mask):
    mse = float(((a - b).square() * mask).sum() / mask.sum())
    return 20 * math.log10(2) - 10 * math.log10(mse)


def _wave(size, freq, phase, angle=0.0):
    """cos(2π f·R p + phase) sampled at pixel centres (p in image units, centred): band-limited."""
    c = (torch.arange(size, dtype=torch.float64) + 0.5) / size - 0.5
    gy, gx = torch.meshgrid(c, c, indexing="ij")
    rot = sg3_rotation(angle)[:2, :2]
    px, py = rot[0, 0] * gx + rot[0, 1] * gy, rot[1, 0] * gx + rot[1, 1] * gy
    return torch.cos(2 * math.pi * (freq[0] * px + freq[1] * py) + phase)[None, None]


def test_filtered_rotation_of_a_band_limited_wave_is_the_rotated_wave():
    angle = 0.7
    image = _wave(48, (3.0, -2.0), 0.4)
    rotated, mask = filtered_rotation(image, angle)
    # ref(p) = image(R(α)⁻¹ p): the wave with its coordinates rotated by R(−α)
    expected = _wave(48, (3.0, -2.0), 0.4, -angle)
    assert mask.sum() > 0.3 * mask.numel()
    # 67 dB: the bilinear read of the 4× upsampled image bounds the operator's accuracy (as in StyleGAN3);
    # the opposite rotation direction gives ~0 dB
    assert _psnr(rotated, expected, mask) > 60
    assert _psnr(rotated, _wave(48, (3.0, -2.0), 0.4, angle), mask) < 10


def test_pseudo_rotation_keeps_a_low_frequency_wave_and_removes_what_a_rotation_cannot_keep():
    low = _wave(48, (3.0, 2.0), 0.1)
    kept, mask = pseudo_rotation(low, 0.7)
    assert _psnr(kept, low, mask) > 70
    # a wave in the corner of the pixel grid's band: rotated by 45° it would leave the band
    n = 48
    high = _wave(n, (0.45 * n, 0.45 * n), 0.0)
    removed, mask = pseudo_rotation(high, math.pi / 4)
    assert float((removed * mask).abs().max()) < 0.2 * float((high * mask).abs().max())


def test_bandlimit_filter_has_unit_gain_per_polyphase_component():
    filt = bandlimit_filter(sg3_rotation(0.3), a=3, amax=6, up=4)
    assert filt.shape == (47, 47)
    padded = F.pad(filt, [0, 1, 0, 1]).reshape(12, 4, 12, 4)
    assert torch.allclose(padded.sum(dim=(0, 2)), torch.full((4, 4), 1 / 16, dtype=torch.float64), atol=1e-12)


def _stylegan3_rotation_reference(x, angle, up=4):
    """R_α written the way StyleGAN3's upfirdn2d route spells it: zero insertion, zero padding,
    valid convolution at 4×, then bilinear reads along the affine grid computed pixel by pixel."""
    n, c, h, w = x.shape
    mat = sg3_rotation(angle)
    filt = bandlimit_filter(mat, a=3, amax=6, up=up) * up * up
    k = filt.shape[0]
    p = k // 2
    fine = torch.zeros(n, c, h * up, w * up, dtype=x.dtype)
    fine[:, :, ::up, ::up] = x
    pad = [p + (k + up - 1) // 2, p + (k - up) // 2] * 2
    y = F.conv2d(F.pad(fine, pad), filt.flip([0, 1])[None, None].expand(c, 1, k, k), groups=c)
    theta = torch.linalg.inv(mat)
    theta[:2, 2] *= 2
    theta[0, 2] += 1 / up / w
    theta[1, 2] += 1 / up / h
    theta[0, :] *= w / (w + p / up * 2)
    theta[1, :] *= h / (h + p / up * 2)
    big_h, big_w = y.shape[2:]
    out = torch.zeros(n, c, h, w, dtype=x.dtype)
    for i in range(h):
        for j in range(w):
            xn, yn = (2 * j + 1) / w - 1, (2 * i + 1) / h - 1
            gx = float(theta[0, 0] * xn + theta[0, 1] * yn + theta[0, 2])
            gy = float(theta[1, 0] * xn + theta[1, 1] * yn + theta[1, 2])
            sx, sy = ((gx + 1) * big_w - 1) / 2, ((gy + 1) * big_h - 1) / 2
            x0, y0 = math.floor(sx), math.floor(sy)
            for yy, wy in ((y0, 1 - (sy - y0)), (y0 + 1, sy - y0)):
                for xx, wx in ((x0, 1 - (sx - x0)), (x0 + 1, sx - x0)):
                    if 0 <= yy < big_h and 0 <= xx < big_w:
                        out[:, :, i, j] += wy * wx * y[:, :, yy, xx]
    return out


def test_filtered_rotation_equals_stylegan3s_upfirdn_route():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, 2, 12, 12, generator=gen, dtype=torch.float64)
    ours, _ = filtered_rotation(x, -1.1)
    assert torch.allclose(ours, _stylegan3_rotation_reference(x, -1.1), atol=1e-12, rtol=0)


def test_eqr_of_an_exactly_rotation_equivariant_toy_is_above_70_db_and_a_broken_one_far_below(tmp_path):
    cfg = [dict(type="EQ", fake_nums=1, eq_cfg=dict(compute_eqr=True))]
    good, _, _ = run_metrics(cfg, WaveGenerator(size=64), tmp_path / "good")
    bad, _, _ = run_metrics(cfg, WaveGenerator(size=64, equivariant=False), tmp_path / "bad")
    assert good["EQ/eqr"] >= 70
    assert bad["EQ/eqr"] < 20
