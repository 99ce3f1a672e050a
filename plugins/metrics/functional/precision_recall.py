"""Improved precision and recall (Kynkäänniemi et al. 2019) on feature vectors.

A sample is inside a set's manifold when it lies within the k-NN radius of at
least one member of the set. Work is done on blocks of squared distances
(‖a‖² + ‖b‖² − 2a·b, one GEMM per block, no square roots), so memory stays
bounded for 50k × 50k comparisons, and each distance is computed once: a block
of a set with itself serves the rows and (transposed) the columns, a block of
fakes × reals serves precision and recall. That is 2 n² distances in all where
computing the four matrices (or three, as torch-fidelity) takes 4 n² (3 n²).
"""
from __future__ import annotations

import torch


def _squared_distances(a: torch.Tensor, a_sq: torch.Tensor, b: torch.Tensor, b_sq: torch.Tensor) -> torch.Tensor:
    return torch.addmm(a_sq[:, None] + b_sq[None, :], a, b.T, alpha=-2.0).clamp_(min=0.0)


def _smallest(current: torch.Tensor, new: torch.Tensor, count: int) -> torch.Tensor:
    return torch.cat([current, new], dim=1).topk(count, dim=1, largest=False, sorted=True).values


def knn_radii(features: torch.Tensor, k: int = 3, block: int = 2048) -> torch.Tensor:
    """Distance of every vector to its k-th nearest neighbour in the same set (self excluded)."""
    n = features.shape[0]
    if n <= k:
        raise ValueError(f"need more than k={k} samples for k-NN radii, got {n}")
    norms = features.square().sum(dim=1)
    # k+1 smallest squared distances per row; the smallest is the vector itself (0).
    nearest = torch.full((n, k + 1), float("inf"), dtype=features.dtype, device=features.device)
    for i in range(0, n, block):
        rows = slice(i, min(i + block, n))
        for j in range(i, n, block):
            cols = slice(j, min(j + block, n))
            d = _squared_distances(features[rows], norms[rows], features[cols], norms[cols])
            if i == j:
                d.fill_diagonal_(0.0)  # exactly 0, whatever the GEMM's round-off
            nearest[rows] = _smallest(nearest[rows], d, k + 1)
            if j != i:
                nearest[cols] = _smallest(nearest[cols], d.T, k + 1)
    return nearest[:, k].sqrt()


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3, row_batch: int = 2048,
                     col_batch: int = 2048, real_radii: torch.Tensor | None = None,
                     fake_radii: torch.Tensor | None = None) -> tuple[float, float]:
    """(precision, recall): fakes inside the real manifold, reals inside the fake manifold.

    ``real_radii``/``fake_radii`` replace the sets' k-NN radii when given (MMagic's float16 rounding).
    """
    real = real.to(torch.float32)
    fake = fake.to(torch.float32)
    block = max(1, min(row_batch, col_batch))
    real_radii = knn_radii(real, k, block) if real_radii is None else real_radii
    fake_radii = knn_radii(fake, k, block) if fake_radii is None else fake_radii
    real_r2, fake_r2 = real_radii.to(real).square(), fake_radii.to(fake).square()
    real_norms, fake_norms = real.square().sum(dim=1), fake.square().sum(dim=1)
    fake_inside = torch.zeros(fake.shape[0], dtype=torch.bool, device=fake.device)
    real_inside = torch.zeros(real.shape[0], dtype=torch.bool, device=real.device)
    for i in range(0, fake.shape[0], block):
        rows = slice(i, i + block)
        for j in range(0, real.shape[0], block):
            cols = slice(j, j + block)
            d = _squared_distances(fake[rows], fake_norms[rows], real[cols], real_norms[cols])
            fake_inside[rows] |= (d <= real_r2[cols][None, :]).any(dim=1)
            real_inside[cols] |= (d <= fake_r2[rows][:, None]).any(dim=0)
    return float(fake_inside.double().mean()), float(real_inside.double().mean())
