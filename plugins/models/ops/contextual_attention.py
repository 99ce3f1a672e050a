"""Contextual attention (Yu et al. 2018, "Generative Image Inpainting with Contextual Attention") with
MMagic's ``ContextualAttentionModule`` arguments.

For foreground features ``x`` and background ``context`` (N×C×H×W) and a hole ``mask`` (N×1×H×W, 1 =
hole):

1. ``x`` and ``context`` are downsampled by ``scale`` (nearest); every ``unfold_corr_kernel_size``
   window of the small context is a patch ``b_j``, divided by its L2 norm (at least 1e-4);
2. the score of patch ``j`` at position ``p`` is the correlation of ``b_j`` with ``x``'s window at ``p``;
3. with ``fuse_kernel_size`` k > 1 the scores are summed along the diagonal ``(p + d, j + d)``,
   |d| ≤ k // 2, first with positions numbered row by row, then column by column (the paper's
   "attention propagation": neighbouring positions prefer neighbouring patches);
4. patches whose window touches the (downsampled) hole get score −∞; a softmax over ``j`` of
   ``softmax_scale`` × score gives the attention ``a_{j,p}``;
5. the output pastes, for every ``p``, the full-resolution ``unfold_raw_kernel_size`` patches of the
   context (stride ``unfold_raw_stride``) weighted by ``a_{·,p}`` (a transposed convolution), divided by
   how many pastes cover each pixel.

Returns the output and, with ``return_attention_score``, the attention as N×h×w×h×w (patch j's grid
position first).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError


def diagonal_sum(scores: torch.Tensor, identity: torch.Tensor) -> torch.Tensor:
    """``out[n, p, j] = Σ_{|d| ≤ k // 2} scores[n, p + d, j + d]`` (zero outside): a correlation with the
    k×k identity ``identity`` (1×1×k×k)."""
    return F.conv2d(scores[:, None], identity.to(scores), padding=identity.shape[-1] // 2)[:, 0]


class ContextualAttentionModule(nn.Module):
    """See the module docstring."""

    def __init__(self, unfold_raw_kernel_size: int = 4, unfold_raw_stride: int = 2, unfold_raw_padding: int = 1,
                 unfold_corr_kernel_size: int = 3, unfold_corr_stride: int = 1, unfold_corr_dilation: int = 1,
                 unfold_corr_padding: int = 1, scale: float = 0.5, fuse_kernel_size: int = 3,
                 softmax_scale: float = 10, return_attention_score: bool = True) -> None:
        super().__init__()
        if fuse_kernel_size > 1 and fuse_kernel_size % 2 == 0:
            raise ConfigError(f"ContextualAttentionModule: fuse_kernel_size must be odd, got {fuse_kernel_size}")
        self.raw = dict(kernel_size=unfold_raw_kernel_size, stride=unfold_raw_stride, padding=unfold_raw_padding)
        self.corr = dict(kernel_size=unfold_corr_kernel_size, stride=unfold_corr_stride,
                         padding=unfold_corr_padding, dilation=unfold_corr_dilation)
        self.scale, self.fuse_kernel_size = scale, fuse_kernel_size
        self.softmax_scale, self.return_attention_score = softmax_scale, return_attention_score
        if fuse_kernel_size > 1:  # MMagic's buffer (so its checkpoints' keys match)
            self.register_buffer("fuse_kernel", torch.eye(fuse_kernel_size).view(1, 1, fuse_kernel_size,
                                                                                   fuse_kernel_size))

    def _patches(self, image: torch.Tensor, options: dict, normalize: bool) -> torch.Tensor:
        """N×L×C×k×k windows of ``image``."""
        k = options["kernel_size"]
        cols = F.unfold(image, **options)  # N × (C·k·k) × L
        if normalize:
            cols = cols / cols.norm(dim=1, keepdim=True).clamp_min(1e-4)
        return cols.transpose(1, 2).reshape(image.shape[0], -1, image.shape[1], k, k)

    def _fuse(self, scores: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        """Step 3 on N×L×h×w scores (patches × positions on the same h×w grid)."""
        n, patches, h, w = scores.shape
        if (h, w) != grid or patches != h * w:
            raise ConfigError("ContextualAttentionModule: fusing needs the patch grid to match the score map "
                              f"({grid} patches against {(h, w)} positions); use stride-1 'same' correlation")
        by_position = scores.reshape(n, patches, h * w).transpose(1, 2)  # N × p × j, row-major numbering
        fused = diagonal_sum(by_position, self.fuse_kernel)
        column_major = torch.arange(h * w, device=scores.device).reshape(h, w).t().reshape(-1)
        fused = diagonal_sum(fused[:, column_major][:, :, column_major], self.fuse_kernel)
        restore = torch.argsort(column_major)
        fused = fused[:, restore][:, :, restore]
        return fused.transpose(1, 2).reshape(n, patches, h, w)

    def forward(self, x: torch.Tensor, context: torch.Tensor,
                mask: torch.Tensor | None = None) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        n = x.shape[0]
        raw_patches = self._patches(context, self.raw, normalize=False)  # N × L × C × kr × kr
        x_small = F.interpolate(x, scale_factor=self.scale)
        context_small = F.interpolate(context, scale_factor=self.scale)
        patches = self._patches(context_small, self.corr, normalize=True)  # N × L × C × k × k
        grid = _unfolded_size(context_small.shape[-2:], **self.corr)
        # correlation of each sample's own patches: a grouped convolution, one group per sample
        scores = F.conv2d(x_small.reshape(1, -1, *x_small.shape[-2:]), patches.flatten(0, 1),
                          stride=self.corr["stride"], padding=self.corr["padding"], dilation=self.corr["dilation"],
                          groups=n)
        scores = scores.reshape(n, -1, *scores.shape[-2:])
        if self.fuse_kernel_size > 1:
            scores = self._fuse(scores, grid)
        if mask is not None:
            mask_small = F.interpolate(mask, scale_factor=self.scale)
            touches_hole = F.unfold(mask_small, **self.corr).sum(dim=1) > 0  # N × L
            scores = scores.masked_fill(touches_hole[:, :, None, None], float("-inf"))
        attention = torch.softmax(scores * self.softmax_scale, dim=1)
        h, w = attention.shape[-2:]
        output = F.conv_transpose2d(attention.reshape(1, -1, h, w), raw_patches.flatten(0, 1),
                                    stride=self.raw["stride"], padding=self.raw["padding"], groups=n)
        output = output.reshape(n, -1, *output.shape[-2:])
        coverage = F.conv_transpose2d(torch.ones(1, 1, h, w).to(attention),
                                      torch.ones(1, 1, self.raw["kernel_size"], self.raw["kernel_size"]).to(attention),
                                      stride=self.raw["stride"], padding=self.raw["padding"])
        output = output / coverage.clamp_min(1.0)
        if self.return_attention_score:
            return output, attention.reshape(n, *grid, h, w)
        return output


def _unfolded_size(size, kernel_size: int, stride: int, padding: int, dilation: int) -> tuple[int, int]:
    return tuple((length + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1 for length in size)


__all__ = ["ContextualAttentionModule", "diagonal_sum"]
