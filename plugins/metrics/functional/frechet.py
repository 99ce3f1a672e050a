"""Fréchet distance between Gaussians and the running float64 moments it needs."""
from __future__ import annotations

import torch


class RunningMoments:
    """Running float64 sums (Σx, Σxxᵀ, n) of feature vectors.

    Memory is O(d²) whatever the number of samples, and the sums of several
    processes (or shards) add up exactly: reduce ``as_tensor()`` with a sum and
    rebuild with ``from_tensor``.
    """

    def __init__(self, dim: int | None = None) -> None:
        self.dim = dim
        self.total: torch.Tensor | None = None
        self.outer: torch.Tensor | None = None
        self.count = 0
        if dim is not None:
            self._allocate(dim, torch.device("cpu"))

    def _allocate(self, dim: int, device: torch.device) -> None:
        self.dim = dim
        self.total = torch.zeros(dim, dtype=torch.float64, device=device)
        self.outer = torch.zeros(dim, dim, dtype=torch.float64, device=device)

    def update(self, features: torch.Tensor) -> None:
        """Add a batch of features (N×d, any float dtype)."""
        feats = features.detach().reshape(features.shape[0], -1).to(torch.float64)
        if self.total is None:
            self._allocate(feats.shape[1], feats.device)
        if feats.shape[1] != self.dim:
            raise ValueError(f"feature dimension changed from {self.dim} to {feats.shape[1]}")
        if self.total.device != feats.device:
            feats = feats.to(self.total.device)
        self.total += feats.sum(dim=0)
        self.outer += feats.T @ feats
        self.count += feats.shape[0]

    def merge(self, other: "RunningMoments") -> "RunningMoments":
        """Add another accumulator's sums into this one (shards of one data set)."""
        if other.total is None:
            return self
        if self.total is None:
            self._allocate(other.dim, other.total.device)
        self.total += other.total.to(self.total.device)
        self.outer += other.outer.to(self.total.device)
        self.count += other.count
        return self

    def as_tensor(self) -> torch.Tensor:
        """All sums packed in one float64 vector: [n, Σx (d), Σxxᵀ (d²)]."""
        if self.total is None:
            raise ValueError("no features were accumulated")
        count = torch.tensor([float(self.count)], dtype=torch.float64, device=self.total.device)
        return torch.cat([count, self.total, self.outer.reshape(-1)])

    @staticmethod
    def add_packed(packed: torch.Tensor | None, features: torch.Tensor) -> torch.Tensor:
        """``packed`` (the ``as_tensor`` form; None: no features yet) plus a batch of features (N×d),
        in place: the same sums as ``update``, kept in one vector that can be summed over processes."""
        feats = features.detach().reshape(features.shape[0], -1).to(torch.float64)
        dim = feats.shape[1]
        if packed is None:
            packed = torch.zeros(1 + dim + dim * dim, dtype=torch.float64, device=feats.device)
        if packed.numel() != 1 + dim + dim * dim:
            raise ValueError(f"feature dimension changed from {packed_dim(packed)} to {dim}")
        feats = feats.to(packed.device)
        packed[0] += feats.shape[0]
        packed[1:1 + dim] += feats.sum(dim=0)
        packed[1 + dim:].view(dim, dim).add_(feats.T @ feats)
        return packed

    @classmethod
    def from_tensor(cls, packed: torch.Tensor, dim: int | None = None) -> "RunningMoments":
        moments = cls()
        packed = packed.to(torch.float64)
        dim = packed_dim(packed) if dim is None else dim
        moments._allocate(dim, packed.device)
        moments.count = int(round(float(packed[0])))
        moments.total.copy_(packed[1:1 + dim])
        moments.outer.copy_(packed[1 + dim:].reshape(dim, dim))
        return moments

    def mean_cov(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and unbiased covariance (divisor n-1, as numpy.cov and torchmetrics)."""
        if self.total is None or self.count < 2:
            raise ValueError(f"need at least 2 feature vectors for a covariance, got {self.count}")
        n = self.count
        mean = self.total / n
        cov = (self.outer - n * torch.outer(mean, mean)) / (n - 1)
        return mean, cov


def packed_dim(packed: torch.Tensor) -> int:
    """d of a packed [n, Σx (d), Σxxᵀ (d²)] vector."""
    return int(round((-1 + (1 + 4 * (packed.numel() - 1)) ** 0.5) / 2))


def _sqrt_psd(matrix: torch.Tensor) -> torch.Tensor:
    """Square root of a symmetric positive semi-definite matrix via eigh."""
    eigvals, eigvecs = torch.linalg.eigh(matrix)
    root = eigvals.clamp(min=0).sqrt()
    return (eigvecs * root) @ eigvecs.T


def trace_sqrt_product(sigma1: torch.Tensor, sigma2: torch.Tensor) -> torch.Tensor:
    """Tr(√(Σ1Σ2)) as the sum of √λ of a symmetric PSD matrix similar to Σ1Σ2, in float64.

    With Σ1 = L Lᵀ (Cholesky), Lᵀ Σ2 L is symmetric PSD with the eigenvalues of
    Σ1Σ2, so one symmetric eigenvalue solve suffices — no sqrtm, no general
    eigensolver. When Σ1 is singular (fewer samples than dimensions) Cholesky
    fails and √Σ1 from an eigendecomposition takes L's place (√Σ1 Σ2 √Σ1 is
    similar to Σ1Σ2 too). Tiny negative eigenvalues from round-off are clipped.
    """
    s1 = sigma1.to(torch.float64)
    s2 = sigma2.to(torch.float64)
    s1 = (s1 + s1.T) / 2
    factor, info = torch.linalg.cholesky_ex(s1)
    if int(info) != 0:
        factor = _sqrt_psd(s1)
    product = factor.T @ s2 @ factor
    product = (product + product.T) / 2
    return torch.linalg.eigvalsh(product).clamp(min=0).sqrt().sum()


def frechet_distance(mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor,
                     sigma2: torch.Tensor) -> tuple[float, float, float]:
    """(fid, mean term ‖μ1−μ2‖², covariance term Tr(Σ1+Σ2−2√(Σ1Σ2))) in float64."""
    mu1, mu2 = mu1.to(torch.float64), mu2.to(torch.float64)
    s1, s2 = sigma1.to(torch.float64), sigma2.to(torch.float64)
    mean_term = float((mu1 - mu2).square().sum())
    cov_term = float(torch.trace(s1) + torch.trace(s2) - 2 * trace_sqrt_product(s1, s2))
    return mean_term + cov_term, mean_term, cov_term
