"""Float64 computations of the metrics' definitions, written from the papers' formulas, for the tests."""
from __future__ import annotations

import numpy as np
import torch


def kid_float64(real, fake, subsets, subset_size, generator):
    """KID from its definition in float64 numpy: unbiased MMD² of k(x, y) = (x·y/d + 1)³ per subset."""
    real, fake = real.double().numpy(), fake.double().numpy()
    m, d = subset_size, real.shape[1]
    scores = []
    for _ in range(subsets):
        x = real[torch.randperm(real.shape[0], generator=generator)[:m].numpy()]
        y = fake[torch.randperm(fake.shape[0], generator=generator)[:m].numpy()]
        k_xx, k_yy, k_xy = ((a @ b.T / d + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
        same = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
        scores.append(same - 2 * k_xy.sum() / (m * m))
    return float(np.mean(scores)), float(np.std(scores))


def precision_recall_float64(real, fake, k, radius_dtype=None):
    """The definition, brute force in float64: a fake counts when some real x has ‖f − x‖ ≤ r_k(x);
    ``radius_dtype=np.float16`` rounds the radii first (MMagic / StyleGAN2-ADA)."""
    real, fake = real.double().numpy(), fake.double().numpy()

    def radii(a):
        d = np.sqrt(((a[:, None, :] - a[None, :, :]) ** 2).sum(-1))
        r = np.sort(d, axis=1)[:, k]  # column 0 is the point itself
        return r if radius_dtype is None else r.astype(radius_dtype).astype(np.float64)

    def inside(queries, members):
        d = np.sqrt(((queries[:, None, :] - members[None, :, :]) ** 2).sum(-1))
        return float((d <= radii(members)[None, :]).any(axis=1).mean())

    return inside(fake, real), inside(real, fake)


def ssim_terms_float64(x, y, data_range=255.0, k1=0.01, k2=0.03):
    """Per-channel mean SSIM and contrast-structure of float64 images: Gaussian 11/1.5 window
    (shrunk to the image with its sigma, MMagic's rule), valid filtering, from the definition."""
    size = min(11, x.shape[2], x.shape[3])
    taps = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-taps ** 2 / (2 * (1.5 * size / 11) ** 2))
    kernel = torch.outer(g, g) / g.sum() ** 2
    c = x.shape[1]

    def blur(t):
        return torch.nn.functional.conv2d(t, kernel.expand(c, 1, size, size), groups=c)

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx ** 2, blur(y * y) - my ** 2, blur(x * y) - mx * my
    cs = (2 * cxy + (k2 * data_range) ** 2) / (vx + vy + (k2 * data_range) ** 2)
    lum = (2 * mx * my + (k1 * data_range) ** 2) / (mx ** 2 + my ** 2 + (k1 * data_range) ** 2)
    return (lum * cs).mean(dim=(2, 3)), cs.mean(dim=(2, 3))


def ms_ssim_float64(x, y, weights=(0.0448, 0.2856, 0.3001, 0.2363, 0.1333), channel_mean_first=False):
    """MS-SSIM in float64: Π_l relu(cs_l)^w_l · relu(ssim_L)^w_L per channel, then the channel mean
    (pytorch-msssim/piq); with ``channel_mean_first`` the channel mean is taken per level first (MMagic)."""
    x, y = x.double(), y.double()
    factors = []
    for level, weight in enumerate(weights):
        s, cs = ssim_terms_float64(x, y)
        term = s if level == len(weights) - 1 else cs
        if channel_mean_first:
            term = term.mean(dim=1, keepdim=True)
        factors.append(term.clamp(min=0) ** weight)
        pad = [x.shape[2] % 2, x.shape[3] % 2]
        x = torch.nn.functional.avg_pool2d(x, 2, padding=pad)
        y = torch.nn.functional.avg_pool2d(y, 2, padding=pad)
    return torch.stack(factors).prod(dim=0).mean(dim=1)


def inception_score_float64(probs, splits, mmagic=False):
    """IS from its definition in float64: exp(mean_i KL(p_i ‖ mean p)) per split, then mean and population std.
    Official splits are torch.chunk's (ceil(N/splits) each); ``mmagic`` splits as MMagic's loop
    ``preds[k*(N//splits):(k+1)*(N//splits)]`` does, each p renormalised to sum 1 (scipy.stats.entropy)."""
    p = probs.double().numpy()
    n = p.shape[0]
    if mmagic:
        p = p / p.sum(axis=1, keepdims=True)
        block = n // splits
        parts = [p[k * block:(k + 1) * block] for k in range(splits)]
    else:
        block = -(-n // splits)
        parts = [p[k:k + block] for k in range(0, n, block)]
    scores = []
    for part in parts:
        marginal = part.mean(axis=0)
        scores.append(np.exp(np.mean((part * np.log(part / marginal)).sum(axis=1))))
    return float(np.mean(scores)), float(np.std(scores))


def frechet_float64(real, fake):
    """FID of two feature sets in float64: ‖μr − μf‖² + tr(Σr + Σf − 2 (Σr^½ Σf Σr^½)^½)."""
    real, fake = real.double().numpy(), fake.double().numpy()
    mu_r, mu_f = real.mean(0), fake.mean(0)
    s_r, s_f = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    vals, vecs = np.linalg.eigh(s_r)
    root_r = (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T
    cross = np.linalg.eigvalsh(root_r @ s_f @ root_r)
    return float(((mu_r - mu_f) ** 2).sum() + np.trace(s_r) + np.trace(s_f) - 2 * np.sqrt(np.clip(cross, 0, None)).sum())


def bilinear_resize_float64(images, size):
    """Bilinear resize without antialiasing, pixel centres aligned (align_corners=False), in float64:
    output pixel i samples the input at (i + 0.5)·in/out − 0.5, clamped to the image, between its two neighbours."""
    x = images.double()

    def axis_weights(n_in, n_out):
        src = ((torch.arange(n_out, dtype=torch.float64) + 0.5) * n_in / n_out - 0.5).clamp(min=0)
        lo = src.floor().long().clamp(max=n_in - 1)
        hi = (lo + 1).clamp(max=n_in - 1)
        frac = src - lo
        matrix = torch.zeros(n_out, n_in, dtype=torch.float64)
        matrix[torch.arange(n_out), lo] += 1 - frac
        matrix[torch.arange(n_out), hi] += frac
        return matrix

    rows, cols = axis_weights(x.shape[2], size[0]), axis_weights(x.shape[3], size[1])
    return torch.einsum("oh,nchw,pw->ncop", rows, x, cols)


def swd_level_float64(real_desc, fake_desc, directions, channels=3):
    """SWD of one pyramid level from its definition in float64 numpy: descriptors normalised per
    channel (mean, unbiased std over every descriptor and patch position of the set), projected on
    unit ``directions`` (columns), sorted; mean |Δ| over samples and directions (the longer set read
    at evenly spaced quantiles when the sizes differ)."""
    def normalised(desc):
        x = desc.double().numpy().reshape(desc.shape[0], channels, -1)
        x = (x - x.mean(axis=(0, 2), keepdims=True)) / x.std(axis=(0, 2), ddof=1, keepdims=True)
        return x.reshape(desc.shape[0], -1)

    dirs = directions.double().numpy()
    a = np.sort(normalised(real_desc) @ dirs, axis=0)
    b = np.sort(normalised(fake_desc) @ dirs, axis=0)
    if a.shape[0] != b.shape[0]:
        short, long_ = (a, b) if a.shape[0] < b.shape[0] else (b, a)
        pick = np.round(np.linspace(0, long_.shape[0] - 1, short.shape[0])).astype(np.int64)
        a, b = short, long_[pick]
    return float(np.abs(a - b).mean())
