"""Improved precision and recall (Kynkäänniemi et al. 2019) on feature vectors.

A sample is inside a set's manifold when it lies within the k-NN radius of at
least one member of the set. Distances are computed in row/column blocks so
memory stays bounded for 50k × 50k comparisons.
"""
from __future__ import annotations

import torch


def knn_radii(features: torch.Tensor, k: int = 3, row_batch: int = 10000,
              col_batch: int = 10000) -> torch.Tensor:
    """Distance of every vector to its k-th nearest neighbour in the same set (self excluded)."""
    n = features.shape[0]
    if n <= k:
        raise ValueError(f"need more than k={k} samples for k-NN radii, got {n}")
    radii = []
    for start in range(0, n, row_batch):
        rows = features[start:start + row_batch]
        dists = torch.cat([torch.cdist(rows, features[c:c + col_batch])
                           for c in range(0, n, col_batch)], dim=1)
        # k+1-th smallest: the smallest is the vector itself (distance 0).
        radii.append(dists.kthvalue(k + 1, dim=1).values)
    return torch.cat(radii)


def manifold_coverage(queries: torch.Tensor, members: torch.Tensor, member_radii: torch.Tensor,
                      row_batch: int = 10000, col_batch: int = 10000) -> float:
    """Fraction of ``queries`` within the k-NN radius of at least one member."""
    inside = []
    for start in range(0, queries.shape[0], row_batch):
        rows = queries[start:start + row_batch]
        hit = torch.zeros(rows.shape[0], dtype=torch.bool, device=rows.device)
        for c in range(0, members.shape[0], col_batch):
            d = torch.cdist(rows, members[c:c + col_batch])
            hit |= (d <= member_radii[c:c + col_batch][None, :]).any(dim=1)
        inside.append(hit)
    return float(torch.cat(inside).to(torch.float64).mean())


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3, row_batch: int = 10000,
                     col_batch: int = 10000) -> tuple[float, float]:
    """(precision, recall): fakes inside the real manifold, reals inside the fake manifold."""
    real = real.to(torch.float32)
    fake = fake.to(torch.float32)
    precision = manifold_coverage(fake, real, knn_radii(real, k, row_batch, col_batch), row_batch, col_batch)
    recall = manifold_coverage(real, fake, knn_radii(fake, k, row_batch, col_batch), row_batch, col_batch)
    return precision, recall
