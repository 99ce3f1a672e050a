"""``RealBasicVSRNet`` (Chan et al. 2022, "Investigating Tradeoffs in Real-World Video Super-Resolution")
under MMagic 1.2.0's name, arguments and state-dict keys: an image-cleaning module applied to the
low-quality frames (up to three times, while its residue is large) in front of a ``BasicVSRNet``."""
from __future__ import annotations

import torch
from torch import nn

from mgx.core.errors import ConfigError

from ..basicvsr.basicvsr_net import BasicVSRNet
from ..ops.sr_layers import ResidualBlocksWithInputConv

MAX_CLEANING_ROUNDS = 3  # the paper's empirical limit


class RealBasicVSRNet(nn.Module):
    """Clean, then super-resolve ×4 with BasicVSR.

    ``forward(lqs, return_lqs=False)``: N×T×3×H×W in [0, 1] -> N×T×3×4H×4W (and the cleaned N×T×3×H×W
    frames with ``return_lqs``). Cleaning adds ``image_cleaning(x)`` to the frames and stops once the mean
    absolute residue is below ``dynamic_refine_thres / 255`` (255: one round in training; MMagic's test
    setting is 1.5 or 5). ``is_sequential_cleaning`` cleans frame by frame (less memory, same result);
    ``is_fix_cleaning`` freezes the cleaning module. SPyNet is frozen, as in MMagic.
    """

    def __init__(self, mid_channels: int = 64, num_propagation_blocks: int = 20, num_cleaning_blocks: int = 20,
                 dynamic_refine_thres: float = 255, spynet_pretrained: str | None = None,
                 is_fix_cleaning: bool = False, is_sequential_cleaning: bool = False) -> None:
        super().__init__()
        if isinstance(dynamic_refine_thres, bool) or not isinstance(dynamic_refine_thres, (int, float)):
            raise ConfigError(f"RealBasicVSRNet: dynamic_refine_thres must be a number (pixel units), "
                              f"got {dynamic_refine_thres!r}")
        self.dynamic_refine_thres = dynamic_refine_thres / 255.0
        self.is_sequential_cleaning = bool(is_sequential_cleaning)
        self.image_cleaning = nn.Sequential(ResidualBlocksWithInputConv(3, mid_channels, num_cleaning_blocks),
                                            nn.Conv2d(mid_channels, 3, 3, 1, 1, bias=True))
        if is_fix_cleaning:
            self.image_cleaning.requires_grad_(False)
        self.basicvsr = BasicVSRNet(mid_channels, num_propagation_blocks, spynet_pretrained)
        self.basicvsr.spynet.requires_grad_(False)

    def _residues(self, lqs: torch.Tensor) -> torch.Tensor:
        n, t, c, h, w = lqs.shape
        if self.is_sequential_cleaning:
            return torch.stack([self.image_cleaning(lqs[:, i]) for i in range(t)], dim=1)
        return self.image_cleaning(lqs.reshape(-1, c, h, w)).view(n, t, c, h, w)

    def clean(self, lqs: torch.Tensor) -> torch.Tensor:
        for _ in range(MAX_CLEANING_ROUNDS):
            residues = self._residues(lqs)
            lqs = lqs + residues
            if torch.mean(torch.abs(residues)) < self.dynamic_refine_thres:
                break
        return lqs

    def forward(self, lqs: torch.Tensor, return_lqs: bool = False):
        if lqs.dim() != 5:
            raise ValueError(f"RealBasicVSRNet: input must be N×T×C×H×W clips, got {tuple(lqs.shape)}")
        cleaned = self.clean(lqs)
        outputs = self.basicvsr(cleaned)
        return (outputs, cleaned) if return_lqs else outputs
