"""Inception Score from class probabilities, reducible across processes.

Splits are contiguous blocks of the *global* sample order, chunked like
``torch.chunk`` (block size ceil(N/splits)), so the score does not depend on
how samples were spread over processes. ``drop_remainder`` gives MMagic's
splits instead: blocks of floor(N/splits) samples, the last N mod splits
samples unused. Each split only needs three sums —
Σp (K), Σ p·log p and a count — so ranks reduce those instead of gathering
probability vectors.
"""
from __future__ import annotations

import math

import torch


def split_block_size(total: int, splits: int, drop_remainder: bool = False) -> int:
    if total <= 0 or splits <= 0:
        raise ValueError(f"need total > 0 and splits > 0, got total={total}, splits={splits}")
    if drop_remainder:
        if total < splits:
            raise ValueError(f"{total} samples cannot fill {splits} splits of floor({total}/{splits}) = 0 samples")
        return total // splits
    return math.ceil(total / splits)


def inception_split_sums(probs: torch.Tensor, indices: torch.Tensor, total: int,
                         splits: int, drop_remainder: bool = False) -> torch.Tensor:
    """Per-split sums of one shard: float64 tensor (splits, K + 2) = [Σp, Σ p log p, n].

    ``probs`` are N×K class probabilities of the samples whose global indices
    are ``indices`` (out of ``total``). Summing the result over shards gives
    the sums of the whole set. With ``drop_remainder`` the samples past the
    last full block are left out.
    """
    probs = probs.detach().to(torch.float64)
    block = split_block_size(total, splits, drop_remainder)
    split_of = torch.as_tensor(indices, device=probs.device).long() // block
    if drop_remainder:
        kept = split_of < splits
        probs, split_of = probs[kept], split_of[kept]
    num_classes = probs.shape[1]
    sums = torch.zeros(splits, num_classes + 2, dtype=torch.float64, device=probs.device)
    sums[:, :num_classes].index_add_(0, split_of, probs)
    sums[:, num_classes].index_add_(0, split_of, torch.special.xlogy(probs, probs).sum(dim=1))
    sums[:, num_classes + 1].index_add_(0, split_of, torch.ones_like(split_of, dtype=torch.float64))
    return sums


def inception_score_from_split_sums(sums: torch.Tensor) -> tuple[float, float]:
    """(mean, population std) of exp(KL(p(y|x) ‖ p(y))) over the non-empty splits.

    KL of split j = (Σ p log p − Σ_k S_k log(S_k / n)) / n with S = Σp over the split.
    """
    sums = sums.to(torch.float64)
    counts = sums[:, -1]
    used = sums[counts > 0]
    if used.shape[0] == 0:
        raise ValueError("no samples were accumulated")
    class_sums, entropy_sums, n = used[:, :-2], used[:, -2], used[:, -1]
    marginal = class_sums / n[:, None]
    kl = (entropy_sums - torch.special.xlogy(class_sums, marginal).sum(dim=1)) / n
    scores = kl.exp()
    return float(scores.mean()), float(scores.std(unbiased=False))
