"""``PConvInpaintor`` (MMagic's name): the one-stage inpaintor whose generator takes the masked image and
the *valid* mask (1 outside the hole, one per colour channel) as partial convolutions expect."""
from __future__ import annotations

import torch

from ..base_models.one_stage import OneStageInpaintor


class PConvInpaintor(OneStageInpaintor):
    """Partial-convolution inpainting (Liu et al. 2018); losses as OneStageInpaintor's."""

    def run_generator(self, masked: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        valid = (1.0 - mask).expand_as(masked)
        fake_res, _ = self.generator(masked, valid)
        return fake_res


__all__ = ["PConvInpaintor"]
