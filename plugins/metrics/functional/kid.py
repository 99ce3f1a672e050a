"""Kernel Inception Distance: unbiased MMD² with a cubic polynomial kernel over random subsets.

Two ways to the same sums: on CPU BLAS ``syrk`` (``_UpperGramMMD`` below), on
accelerators torch GEMMs (``poly_mmd_unbiased``). Both multiply in the
features' precision (float32 features: float32 products, like torch-fidelity
and clean-fid) and take the kernel and every sum in float64.
"""
from __future__ import annotations

import numpy as np
import torch

# Rows of the Gram matrix computed per GEMM: large enough for an efficient GEMM (and few thread-pool
# wake-ups: 256-row blocks were 1.5x slower than 512 with 2 threads on a loaded 2-core VM), small enough
# that the triangular saving (only blocks on or above the diagonal) is worth it.
_BLOCK_ROWS = 512


def _gemm_dtype(real: torch.Tensor, fake: torch.Tensor) -> torch.dtype:
    return torch.float64 if torch.float64 in (real.dtype, fake.dtype) else torch.float32


def _check_degree(degree: int) -> None:
    if isinstance(degree, bool) or not isinstance(degree, int) or degree < 1:
        raise ValueError(f"degree={degree!r}: the polynomial kernel's degree must be a positive integer")


def _gram_rows(rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    return rows @ cols.T


def poly_mmd_unbiased(real: torch.Tensor, fake: torch.Tensor, degree: int = 3,
                      gamma: float | None = None, coef: float = 1.0) -> torch.Tensor:
    """Unbiased MMD² between two equally sized feature sets (m×d each), as a float64 0-dim tensor.

    Torch on the features' device. The three Gram matrices come from one
    stacked matrix [real; fake] whose Gram matrix is symmetric, so only row
    blocks times the columns from the block on are multiplied (≈ 3/4 of the
    work of three full products). The products run in the features' precision;
    the kernel and every sum are float64.
    """
    _check_degree(degree)
    m = real.shape[0]
    if fake.shape[0] != m:
        raise ValueError(f"real and fake subsets must have one size, got {m} and {fake.shape[0]}")
    gamma = 1.0 / real.shape[1] if gamma is None else gamma
    stacked = torch.cat([real, fake]).to(_gemm_dtype(real, fake))
    sums = torch.zeros(3, dtype=torch.float64, device=real.device)  # Σ k_rr (i≠j), Σ k_ff (i≠j), Σ k_rf
    for half, own in ((0, 0), (m, 1)):
        for start in range(half, half + m, _BLOCK_ROWS):
            stop = min(start + _BLOCK_ROWS, half + m)
            width = stop - start
            kernel = _gram_rows(stacked[start:stop], stacked[start:]).to(torch.float64).mul_(gamma).add_(coef)
            kernel.pow_(degree)
            diagonal_block = kernel[:, :width]
            same_set = (diagonal_block.sum() - diagonal_block.diagonal().sum()
                        + 2 * kernel[:, width:half + m - start].sum())  # blocks right of the diagonal count twice
            sums[own] += same_set
            if half == 0:
                sums[2] += kernel[:, m - start:].sum()
    return (sums[0] + sums[1]) / (m * (m - 1)) - 2 * sums[2] / (m * m)


class _UpperGramMMD:
    """Unbiased MMD² of CPU subsets from the upper triangle of the Gram matrix of S = [x; y] (2m×d).

    The upper triangle holds the x·x and y·y products above their diagonals
    and every x·y product, which is all the unbiased MMD² needs (half the
    products of the full 2m×2m matrix, as many as three GEMMs whose two
    same-set products numpy turns into syrk). Subclasses fill it; the kernel
    (γ·g + c)^degree and its sums are float64, taken a few columns at a time so
    each piece stays in cache: the only float32 roundings are the products'.
    Between the BLAS calls only single-threaded numpy runs, so OpenBLAS's
    threads never wait on torch's OpenMP pool (interleaving the two was 4×
    slower).
    """

    # Columns of a block converted to float64 at once: 1000 rows × 64 × 8 bytes fit in a 1 MB L2 cache.
    _CHUNK_COLUMNS = 64

    def __init__(self, real: np.ndarray, fake: np.ndarray, subset_size: int, degree: int,
                 gamma: float, coef: float) -> None:
        from scipy.linalg import blas  # imported when used: scipy.linalg adds ~0.14 s to every mgx start

        self.real, self.fake, self.m, self.degree, self.gamma, self.coef = real, fake, subset_size, degree, gamma, coef
        self.syrk = blas.dsyrk if real.dtype == np.float64 else blas.ssyrk
        self.power_terms = ",".join(["ij"] * degree) + "->"

    def upper_gram(self, real_rows: np.ndarray, fake_rows: np.ndarray) -> np.ndarray:
        """A 2m×2m matrix whose strict upper triangle is that of S·Sᵀ (the rest is not read)."""
        raise NotImplementedError

    def _power_sum(self, kernel: np.ndarray) -> float:
        return float(np.einsum(self.power_terms, *[kernel] * self.degree))

    def _kernel(self, gram: np.ndarray) -> np.ndarray:
        kernel = gram.astype(np.float64)
        kernel *= self.gamma
        kernel += self.coef
        return kernel

    def _kernel_sum(self, gram: np.ndarray) -> float:
        """Σ (γ·g + c)^degree over a block of the Gram matrix."""
        return sum(self._power_sum(self._kernel(gram[:, start:start + self._CHUNK_COLUMNS]))
                   for start in range(0, gram.shape[1], self._CHUNK_COLUMNS))

    def _kernel_sum_above_diagonal(self, gram: np.ndarray) -> float:
        """Σ over i < j of a square block: per column chunk, the rectangle above its diagonal square, and
        the square's own strict upper triangle."""
        total = 0.0
        for start in range(0, gram.shape[1], self._CHUNK_COLUMNS):
            stop = min(start + self._CHUNK_COLUMNS, gram.shape[1])
            total += self._kernel_sum(gram[:start, start:stop])
            total += self._power_sum(np.triu(self._kernel(gram[start:stop, start:stop]), 1))
        return total

    def __call__(self, real_rows: np.ndarray, fake_rows: np.ndarray) -> float:
        m = self.m
        gram = self.upper_gram(real_rows, fake_rows)
        same_set = self._kernel_sum_above_diagonal(gram[:m, :m]) + self._kernel_sum_above_diagonal(gram[m:, m:])
        cross = self._kernel_sum(gram[:m, m:])
        return 2 * same_set / (m * (m - 1)) - 2 * cross / (m * m)


class _SyrkPerSubset(_UpperGramMMD):
    """One BLAS ``syrk`` of the gathered subset per subset."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.stacked = np.empty((2 * self.m, self.real.shape[1]), dtype=self.real.dtype)
        self.gram = np.zeros((2 * self.m, 2 * self.m), dtype=self.real.dtype, order="F")

    def upper_gram(self, real_rows: np.ndarray, fake_rows: np.ndarray) -> np.ndarray:
        np.take(self.real, real_rows, axis=0, out=self.stacked[:self.m])
        np.take(self.fake, fake_rows, axis=0, out=self.stacked[self.m:])
        # stacked.T is a Fortran-order d×2m view (no copy); trans=1 gives the upper triangle of stacked·stackedᵀ.
        return self.syrk(1.0, self.stacked.T, beta=0.0, c=self.gram, trans=1, lower=0, overwrite_c=1)


class _SyrkOfAllFeatures(_UpperGramMMD):
    """One BLAS ``syrk`` of every feature, [real; fake], then per subset a gather of its products.

    Rows are taken in increasing order (the MMD² does not depend on the order
    within a subset), so the subset's upper triangle comes from the full
    matrix's upper triangle, the only one ``syrk`` writes (a row drawn twice
    pairs with itself through the diagonal, which it writes too).
    """

    def __init__(self, *args) -> None:
        super().__init__(*args)
        stacked = np.concatenate([self.real, self.fake])
        self.full = self.syrk(1.0, stacked.T, trans=1, lower=0)
        self.gram = np.zeros((2 * self.m, 2 * self.m), dtype=self.real.dtype, order="F")

    def upper_gram(self, real_rows: np.ndarray, fake_rows: np.ndarray) -> np.ndarray:
        rows = np.concatenate([np.sort(real_rows), self.real.shape[0] + np.sort(fake_rows)])
        for column in range(1, rows.size):  # a column of a Fortran-order matrix is contiguous
            np.take(self.full[:, rows[column]], rows[:column], out=self.gram[:column, column])
        return self.gram


# The all-features Gram matrix is used when it costs fewer products than the subsets' (counting the per-subset
# gather as a fifth of a subset's syrk: measured ~1/10 at m = 1000) and takes at most this much memory.
_FULL_GRAM_MAX_BYTES = 256 * 2 ** 20


def _cpu_subset_mmd(real: np.ndarray, fake: np.ndarray, subsets: int, subset_size: int, degree: int,
                    gamma: float, coef: float) -> _UpperGramMMD:
    total = real.shape[0] + fake.shape[0]
    fits = total * total * real.itemsize <= _FULL_GRAM_MAX_BYTES
    cheaper = total * total < 0.8 * subsets * (2 * subset_size) ** 2
    kind = _SyrkOfAllFeatures if fits and cheaper else _SyrkPerSubset
    return kind(real, fake, subset_size, degree, gamma, coef)


def kid_subset_scores(real: torch.Tensor, fake: torch.Tensor, picks: list[tuple[torch.Tensor, torch.Tensor]],
                      degree: int = 3, gamma: float | None = None, coef: float = 1.0) -> torch.Tensor:
    """Unbiased MMD² of ``real[r]`` against ``fake[f]`` for each (r, f) index pair of ``picks`` (all of one
    size m), as a float64 CPU tensor.

    CPU features go through BLAS ``syrk`` (per subset, or once for all the
    features when that is fewer products and fits in 256 MiB) with as many BLAS
    threads as torch's ``get_num_threads()``; others through
    ``poly_mmd_unbiased``. Both: products in the features' precision, kernel
    and sums in float64.
    """
    _check_degree(degree)
    dtype = _gemm_dtype(real, fake)
    real, fake = real.detach().to(dtype), fake.detach().to(dtype)
    gamma = 1.0 / real.shape[1] if gamma is None else gamma
    scores = torch.zeros(len(picks), dtype=torch.float64)
    if not picks:
        return scores
    size = len(picks[0][0])
    if size < 2 or any(len(real_rows) != size or len(fake_rows) != size for real_rows, fake_rows in picks):
        raise ValueError(f"every pick must take one number (at least 2) of real and of fake rows, got sizes "
                         f"{sorted({(len(r), len(f)) for r, f in picks})}")
    if real.device.type == "cpu" and fake.device.type == "cpu":
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=torch.get_num_threads(), user_api="blas"):
            mmd = _cpu_subset_mmd(real.contiguous().numpy(), fake.contiguous().numpy(), len(picks), size,
                                  degree, gamma, coef)
            for subset, (real_rows, fake_rows) in enumerate(picks):
                scores[subset] = mmd(np.asarray(real_rows), np.asarray(fake_rows))
    else:
        for subset, (real_rows, fake_rows) in enumerate(picks):
            real_rows, fake_rows = torch.as_tensor(real_rows), torch.as_tensor(fake_rows)
            scores[subset] = poly_mmd_unbiased(real[real_rows.to(real.device)], fake[fake_rows.to(fake.device)],
                                               degree, gamma, coef).cpu()
    return scores


def kid_from_features(real: torch.Tensor, fake: torch.Tensor, subsets: int = 100,
                      subset_size: int = 1000, degree: int = 3, gamma: float | None = None,
                      coef: float = 1.0, generator: torch.Generator | None = None) -> tuple[float, float]:
    """(mean, population std) of MMD² over ``subsets`` random subsets of ``subset_size``.

    For each subset a permutation of the real set, then one of the fake set, is
    drawn from ``generator`` (the order torchmetrics uses, so a generator
    seeded like torchmetrics' global RNG reproduces its subsets). See
    ``kid_subset_scores`` for the computation and its precision.
    """
    _check_degree(degree)
    if subset_size < 2:
        raise ValueError(f"subset_size={subset_size}: the unbiased MMD² needs subsets of at least 2 samples")
    if min(real.shape[0], fake.shape[0]) < subset_size:
        raise ValueError(f"subset_size={subset_size} is larger than the number of samples "
                         f"(real {real.shape[0]}, fake {fake.shape[0]})")
    picks = [(torch.randperm(real.shape[0], generator=generator)[:subset_size],
              torch.randperm(fake.shape[0], generator=generator)[:subset_size]) for _ in range(subsets)]
    scores = kid_subset_scores(real, fake, picks, degree, gamma, coef)
    return float(scores.mean()), float(scores.std(unbiased=False))
