"""``DeepFillEncoderDecoder`` (MMagic keeps it in deepfillv2): the coarse stage (a GLEncoderDecoder of
DeepFill parts) and the refiner, as MMagic composes them."""
from __future__ import annotations

import torch
from torch import nn

from ..deepfillv1.networks import normal_init_convs
from ..global_local.networks import build_part


class DeepFillEncoderDecoder(nn.Module):
    """``x = cat(masked image, ones, mask)``: stage 1 completes the image coarsely; its output, pasted into
    the hole, with the other input channels, goes through stage 2. Returns (stage-1 output, stage-2
    output[, attention with ``return_offset``]). Weights start N(0, 0.02) (MMagic's init_weights)."""

    def __init__(self, stage1: dict = dict(type="GLEncoderDecoder", encoder=dict(type="DeepFillEncoder"),
                                           decoder=dict(type="DeepFillDecoder", in_channels=128),
                                           dilation_neck=dict(type="GLDilationNeck", in_channels=128,
                                                              act_cfg=dict(type="ELU"))),
                 stage2: dict = dict(type="DeepFillRefiner"), return_offset: bool = False) -> None:
        super().__init__()
        self.stage1 = build_part(stage1, None, "DeepFillEncoderDecoder", "stage1")
        self.stage2 = build_part(stage2, None, "DeepFillEncoderDecoder", "stage2")
        self.return_offset = bool(return_offset)
        normal_init_convs(self)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        masked, mask = x[:, :3], x[:, -1:]
        stage1_res = self.stage1(x)
        stage1_img = stage1_res * mask + masked * (1.0 - mask)
        stage2_res, attention = self.stage2(torch.cat([stage1_img, x[:, 3:]], dim=1), mask)
        return (stage1_res, stage2_res, attention) if self.return_offset else (stage1_res, stage2_res)


__all__ = ["DeepFillEncoderDecoder"]
