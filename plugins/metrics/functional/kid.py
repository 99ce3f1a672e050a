"""Kernel Inception Distance: unbiased MMD² with a cubic polynomial kernel over random subsets."""
from __future__ import annotations

import torch


def _poly_kernel(a: torch.Tensor, b: torch.Tensor, degree: int, gamma: float, coef: float) -> torch.Tensor:
    return (a @ b.T * gamma + coef) ** degree


def poly_mmd_unbiased(real: torch.Tensor, fake: torch.Tensor, degree: int = 3,
                      gamma: float | None = None, coef: float = 1.0) -> torch.Tensor:
    """Unbiased MMD² between two equally sized feature sets (m×d each)."""
    m = real.shape[0]
    gamma = 1.0 / real.shape[1] if gamma is None else gamma
    k_rr = _poly_kernel(real, real, degree, gamma, coef)
    k_ff = _poly_kernel(fake, fake, degree, gamma, coef)
    k_rf = _poly_kernel(real, fake, degree, gamma, coef)
    off_diag = (k_rr.sum() - k_rr.diagonal().sum()) + (k_ff.sum() - k_ff.diagonal().sum())
    return off_diag / (m * (m - 1)) - 2 * k_rf.sum() / (m * m)


def kid_from_features(real: torch.Tensor, fake: torch.Tensor, subsets: int = 100,
                      subset_size: int = 1000, degree: int = 3, gamma: float | None = None,
                      coef: float = 1.0, generator: torch.Generator | None = None) -> tuple[float, float]:
    """(mean, population std) of MMD² over ``subsets`` random subsets of ``subset_size``.

    For each subset a permutation of the real set, then one of the fake set, is
    drawn from ``generator`` (the order torchmetrics uses, so a generator
    seeded like torchmetrics' global RNG reproduces its value). Computed in float64.
    """
    real = real.to(torch.float64)
    fake = fake.to(torch.float64)
    if min(real.shape[0], fake.shape[0]) < subset_size:
        raise ValueError(f"subset_size={subset_size} is larger than the number of samples "
                         f"(real {real.shape[0]}, fake {fake.shape[0]})")
    scores = []
    for _ in range(subsets):
        real_pick = torch.randperm(real.shape[0], generator=generator)[:subset_size]
        fake_pick = torch.randperm(fake.shape[0], generator=generator)[:subset_size]
        scores.append(poly_mmd_unbiased(real[real_pick.to(real.device)], fake[fake_pick.to(fake.device)],
                                        degree, gamma, coef))
    stacked = torch.stack(scores)
    return float(stacked.mean()), float(stacked.std(unbiased=False))
