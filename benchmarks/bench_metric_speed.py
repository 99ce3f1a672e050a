"""KID, MS-SSIM and Precision & Recall: mgx vs torch-fidelity, clean-fid, piq and pytorch-msssim.

Run: python benchmarks/bench_metric_speed.py [--rounds 3] [--threads 2] [--only kid,ms_ssim,pr] [--small]
(needs the `test` extra: pip install -e '.[test]').

Sizes are the ones issue 14 names: KID 20 subsets × 1000 of d=2048 features
(n=3000 per set, then n=10000 per set), MS-SSIM 64 pairs at 256 px, PR d=4096, n=3000. Each round runs
every implementation once, in alternating order, in this one process; the table
shows median seconds and the ratio mgx/peer of medians (< 1: mgx faster).

Precision: every value is compared with a float64 computation of the same
definition on the same input (KID: on the subsets that implementation drew,
replayed; MS-SSIM: float64 filtering; PR: float64 distances). KID also prints,
on each peer's draws (mgx replays them with kid_subset_scores), the absolute
differences |peer - float64|, |mgx - float64| and |mgx - peer|.
Goal: mgx ≤ 1.0 against the fastest peer at equal or better precision.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from mgx.plugins.metrics.functional.kid import kid_from_features, kid_subset_scores
from mgx.plugins.metrics.functional.precision_recall import precision_recall
from mgx.plugins.metrics.functional.ssim import ms_ssim


def kid_float64(real: np.ndarray, fake: np.ndarray, picks: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Mean unbiased MMD² (k = (x·y/d + 1)³) over the given (real rows, fake rows) subsets, in float64."""
    scores = []
    for real_rows, fake_rows in picks:
        x, y = real[real_rows].astype(np.float64), fake[fake_rows].astype(np.float64)
        m, d = x.shape
        k_xx, k_yy, k_xy = ((a @ b.T / d + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
        same = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
        scores.append(same - 2 * k_xy.sum() / (m * m))
    return float(np.mean(scores))


def kid_cases(n: int, dim: int, subsets: int, size: int):
    gen = torch.Generator().manual_seed(0)
    # non-negative, like Inception pool features
    real = torch.rand(n, dim, generator=gen).square() * 0.8
    fake = torch.rand(n, dim, generator=gen).square() * 0.8 + 0.02
    real_np, fake_np = real.numpy(), fake.numpy()

    def mgx():
        return kid_from_features(real, fake, subsets, size, generator=torch.Generator().manual_seed(1))[0]

    def mgx_picks():
        g = torch.Generator().manual_seed(1)
        return [(torch.randperm(n, generator=g)[:size].numpy(), torch.randperm(n, generator=g)[:size].numpy())
                for _ in range(subsets)]

    def fidelity():
        from torch_fidelity.metric_kid import kid_features_to_metric
        out = kid_features_to_metric(real, fake, kid_subsets=subsets, kid_subset_size=size, verbose=False,
                                     rng_seed=1, kid_kernel="poly", kid_kernel_poly_degree=3,
                                     kid_kernel_poly_gamma=None, kid_kernel_poly_coef0=1)
        return out["kernel_inception_distance_mean"]

    def fidelity_picks():
        rng = np.random.RandomState(1)
        return [(rng.choice(n, size, replace=False), rng.choice(n, size, replace=False)) for _ in range(subsets)]

    def cleanfid():
        from cleanfid.fid import kernel_distance
        np.random.seed(1)
        # clean-fid's argument order: (feats1, feats2); it draws feats2 first, and averages t/m
        return kernel_distance(real_np, fake_np, subsets, size)

    def cleanfid_picks():
        np.random.seed(1)
        picks = []
        for _ in range(subsets):
            fake_rows = np.random.choice(n, size, replace=False)
            real_rows = np.random.choice(n, size, replace=False)
            picks.append((real_rows, fake_rows))
        return picks

    refs = {}

    def reference(name, picks):
        if name not in refs:
            refs[name] = kid_float64(real_np, fake_np, picks())
        return refs[name]

    cases = [("mgx", mgx, lambda: reference("mgx", mgx_picks)),
             ("torch-fidelity", fidelity, lambda: reference("torch-fidelity", fidelity_picks)),
             ("clean-fid", cleanfid, lambda: reference("clean-fid", cleanfid_picks))]
    peers = [("torch-fidelity", fidelity, fidelity_picks), ("clean-fid", cleanfid, cleanfid_picks)]
    return cases, lambda: kid_same_draws(real, fake, peers, lambda name: refs[name])


def kid_same_draws(real, fake, peers, reference) -> None:
    """mgx on each peer's own subsets: |mgx - peer| and each one's distance to the float64 definition."""
    print("KID on each peer's draws (mgx replays them with kid_subset_scores); absolute differences")
    print(f"{'draws of':16s} {'float64 value':>14s} {'|peer-f64|':>11s} {'|mgx-f64|':>11s} {'|mgx-peer|':>11s}")
    for label, fn, picks in peers:
        exact = reference(label)
        peer = fn()
        draws = [(torch.as_tensor(r), torch.as_tensor(f)) for r, f in picks()]
        mine = float(kid_subset_scores(real, fake, draws).mean())
        print(f"{label:16s} {exact:14.8e} {abs(peer - exact):11.2e} {abs(mine - exact):11.2e} {abs(mine - peer):11.2e}")


def ms_ssim_cases(pairs: int, size: int):
    gen = torch.Generator().manual_seed(0)
    low = torch.rand(2 * pairs, 3, 16, 16, generator=gen)
    images = F.interpolate(low, size=size, mode="bicubic", align_corners=False) * 255
    images = (images + torch.randn(images.shape, generator=gen) * 10).clamp(0, 255).round()
    x, y = images[0::2].contiguous(), images[1::2].contiguous()
    cache = {}

    def reference():
        if "ref" not in cache:
            cache["ref"] = ms_ssim_float64(x, y)
        return cache["ref"]

    def piq_value():
        import piq
        return piq.multi_scale_ssim(x, y, data_range=255.0, reduction="none")

    def pytorch_msssim_value():
        import pytorch_msssim
        return pytorch_msssim.ms_ssim(x, y, data_range=255, size_average=False)

    return [("mgx", lambda: ms_ssim(x, y, data_range=255.0), reference),
            ("piq", piq_value, reference),
            ("pytorch-msssim", pytorch_msssim_value, reference)]


def ms_ssim_float64(x: torch.Tensor, y: torch.Tensor, data_range: float = 255.0,
                    weights=(0.0448, 0.2856, 0.3001, 0.2363, 0.1333)) -> torch.Tensor:
    """MS-SSIM from its definition, all in float64 (pytorch-msssim's float64 path rounds its window to float32)."""
    x, y = x.double(), y.double()
    taps = torch.arange(11, dtype=torch.float64) - 5
    g = torch.exp(-taps ** 2 / (2 * 1.5 ** 2))
    kernel = (torch.outer(g, g) / g.sum() ** 2).expand(x.shape[1], 1, 11, 11)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    factors = []
    for level, weight in enumerate(weights):
        def blur(t):
            return F.conv2d(t, kernel, groups=x.shape[1])
        mx, my = blur(x), blur(y)
        vx, vy, cxy = blur(x * x) - mx ** 2, blur(y * y) - my ** 2, blur(x * y) - mx * my
        cs = (2 * cxy + c2) / (vx + vy + c2)
        term = cs if level < len(weights) - 1 else (2 * mx * my + c1) / (mx ** 2 + my ** 2 + c1) * cs
        factors.append(term.mean(dim=(2, 3)).clamp(min=0) ** weight)
        pad = [x.shape[2] % 2, x.shape[3] % 2]
        x, y = F.avg_pool2d(x, 2, padding=pad), F.avg_pool2d(y, 2, padding=pad)
    return torch.stack(factors).prod(dim=0).mean(dim=1)


def pr_float64(real: torch.Tensor, fake: torch.Tensor, k: int) -> tuple[float, float]:
    real, fake = real.double(), fake.double()

    def radii(a):
        return torch.cat([torch.cdist(a[i:i + 500], a).kthvalue(k + 1, dim=1).values for i in range(0, len(a), 500)])

    def inside(queries, members, r):
        return torch.cat([(torch.cdist(queries[i:i + 500], members) <= r[None]).any(1)
                          for i in range(0, len(queries), 500)]).double().mean().item()

    r_real, r_fake = radii(real), radii(fake)
    return inside(fake, real, r_real), inside(real, fake, r_fake)


def pr_cases(n: int, dim: int):
    gen = torch.Generator().manual_seed(0)
    real = torch.randn(n, dim, generator=gen).relu()
    fake = (torch.randn(n, dim, generator=gen) * 1.02 + 0.01).relu()
    cache = {}

    def reference():
        if "ref" not in cache:
            cache["ref"] = pr_float64(real, fake, 3)
        return cache["ref"]

    def fidelity():
        from torch_fidelity.metric_prc import prc_features_to_metric
        # torch-fidelity's precision is of its first input (the generated set)
        out = prc_features_to_metric(fake, real, prc_neighborhood=3, prc_batch_size=10000, save_cpu_ram=False,
                                     verbose=False)
        return out["precision"], out["recall"]

    return [("mgx", lambda: precision_recall(real, fake, 3, 2048, 2048), reference),
            ("torch-fidelity", fidelity, reference)]


def difference(value, reference) -> float:
    if isinstance(value, tuple):
        return max(abs(float(a) - float(b)) for a, b in zip(value, reference))
    if torch.is_tensor(value):
        return float((value.double() - reference.double()).abs().max())
    return abs(float(value) - float(reference)) / abs(float(reference))


def run(name: str, cases, rounds: int) -> None:
    times = {label: [] for label, _, _ in cases}
    values = {}
    for round_index in range(rounds):
        order = cases if round_index % 2 == 0 else cases[::-1]
        for label, fn, _ in order:
            start = time.perf_counter()
            values[label] = fn()
            times[label].append(time.perf_counter() - start)
    mgx_median = statistics.median(times["mgx"])
    unit = "relative" if name.startswith("KID") else "absolute"
    print(f"\n{name}  (difference to float64: {unit}, on that implementation's own draws)")
    print(f"{'implementation':16s} {'median s':>9s} {'min..max s':>15s} {'mgx/peer':>9s} {'|value - float64|':>18s}")
    for label, _, reference in cases:
        median = statistics.median(times[label])
        ratio = "" if label == "mgx" else f"{mgx_median / median:9.2f}"
        print(f"{label:16s} {median:9.3f} {min(times[label]):7.3f}..{max(times[label]):<7.3f} {ratio:>9s} "
              f"{difference(values[label], reference()):18.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", default="kid,ms_ssim,pr")
    parser.add_argument("--small", action="store_true", help="quarter sizes (a quick check)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    chosen = set(args.only.split(","))
    div = 4 if args.small else 1
    if "kid" in chosen:
        # 3000 features per set: mgx computes the Gram matrix of all of them once (fewer products than the
        # subsets'); 10000: one syrk per subset, the path of large evaluations (e.g. KID-50k).
        for per_set in (3000, 10000):
            cases, same_draws = kid_cases(per_set // div, 2048, 20, 1000 // div)
            run(f"KID, {per_set // div} features per set", cases, args.rounds)
            same_draws()
    if "ms_ssim" in chosen:
        run("MS-SSIM", ms_ssim_cases(64 // div, 256), args.rounds)
    if "pr" in chosen:
        run("PR", pr_cases(3000 // div, 4096), args.rounds)


if __name__ == "__main__":
    main()
