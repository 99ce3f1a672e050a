"""``CAIN`` (MMagic's name and arguments): ``BasicInterpolator`` whose validation and test run CAINNet
with ``padding_flag=True`` (frames reflection-padded to multiples of 2^padding, as MMagic does)."""
from __future__ import annotations

import torch

from ..base_models.frame_windows import BasicInterpolator


class CAIN(BasicInterpolator):
    """Frame interpolation with CAINNet (see the module docstring)."""

    def call_generator(self, frames: torch.Tensor, training: bool) -> torch.Tensor:
        return self.generator(frames) if training else self.generator(frames, padding_flag=True)
