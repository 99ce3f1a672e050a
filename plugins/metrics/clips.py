"""MMagic's video convention for per-image metrics: a clip's value is the mean over its frames, and the
metric is the mean over clips (not over all frames pooled). A long clip may arrive in temporal chunks
(``BasicFramesDataset(max_seq_len=...)``): each chunk's batch then carries ``clip_frames``, the whole
clip's length, and contributes Σ(its frame values) / clip_frames to the clip sum and
(its frames) / clip_frames to the clip count, so the chunks of one clip add up to that clip's mean and
one count, whichever process evaluated them."""
from __future__ import annotations

import torch

from mgx.core.errors import MgxError


def clip_sum_and_count(values: torch.Tensor, clips: int, batch: dict) -> torch.Tensor:
    """[Σ clip means, number of clips] of ``values``, one per frame of ``clips`` clips (frame-major per clip)."""
    per_clip = values.detach().cpu().to(torch.float64).reshape(clips, -1)
    frames = per_clip.shape[1]
    total = batch.get("clip_frames") if isinstance(batch, dict) else None
    if total is None:
        weights = torch.full((clips,), 1.0 / frames, dtype=torch.float64)
    else:
        total = torch.as_tensor(total).detach().cpu().to(torch.float64).reshape(-1)
        if total.numel() != clips or bool((total < frames).any()):
            raise MgxError(f"batch clip_frames {total.tolist()} do not fit {clips} chunk(s) of {frames} frames")
        weights = 1.0 / total
    return torch.stack([(per_clip.sum(dim=1) * weights).sum(), (frames * weights).sum()])
