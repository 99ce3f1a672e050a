"""``FLAVR`` (MMagic's name and arguments): ``BasicInterpolator`` whose whole-video merge keeps the first
and last two frames of FLAVR's 4-frame windows (MMagic's FLAVR.merge_frames). MMagic's FLAVR config
names ``BasicInterpolator`` itself; both train FLAVRNet the same way."""
from __future__ import annotations

import torch

from ..base_models.frame_windows import BasicInterpolator


class FLAVR(BasicInterpolator):
    """Frame interpolation with FLAVRNet (see the module docstring)."""

    @staticmethod
    def merge_frames(windows: torch.Tensor, outputs: torch.Tensor) -> list[torch.Tensor]:
        """Windows [[f1, f2, f3, f4], [f2, f3, f4, f5], ...] and their frames between f2 and f3 ->
        [f1, f2, o1, f3, o2, ..., second last, last] (C×H×W frames)."""
        merged = [windows[0, 0]]
        for window, output in zip(windows, outputs):
            merged += [window[1], output.reshape(-1, *output.shape[-3:])[0]]
        return merged + [windows[-1, 2], windows[-1, 3]]
