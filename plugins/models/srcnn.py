"""SRCNN (Dong et al. 2014): three convolutions mapping a degraded image to a restored one.

Trained on (``lq_img`` -> ``gt_img``) pairs; a low-quality input smaller than
its ground truth is first upsampled bicubically to the ground truth's size.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError

from .common import batch_images, module_device, uint8_to_unit

LOSSES = {"l1": F.l1_loss, "mse": F.mse_loss}


class SRCNNNet(nn.Module):
    """conv(k0) - ReLU - conv(k1) - ReLU - conv(k2), 'same' padding; images in [0, 1]."""

    def __init__(self, channels: int, hidden: Sequence[int], kernel_sizes: Sequence[int]) -> None:
        super().__init__()
        widths = [channels, *hidden, channels]
        layers: list[nn.Module] = []
        for index, kernel in enumerate(kernel_sizes):
            layers.append(nn.Conv2d(widths[index], widths[index + 1], kernel, padding=kernel // 2))
            if index < len(kernel_sizes) - 1:
                layers.append(nn.ReLU(inplace=True))
        self.net = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)


class SRCNN(nn.Module):
    """Restoration model with one optimizer, named ``generator`` as in MMagic."""

    def __init__(self, channels: int = 3, hidden: Sequence[int] = (64, 32), kernel_sizes: Sequence[int] = (9, 1, 5),
                 loss: str = "l1") -> None:
        super().__init__()
        hidden, kernel_sizes = tuple(hidden), tuple(kernel_sizes)
        if len(kernel_sizes) != len(hidden) + 1:
            raise ConfigError(f"SRCNN: kernel_sizes needs one more entry than hidden "
                              f"(got hidden={hidden}, kernel_sizes={kernel_sizes})")
        if any(k % 2 == 0 or k < 1 for k in kernel_sizes):
            raise ConfigError(f"SRCNN: kernel_sizes must be odd positive ints to keep the size, got {kernel_sizes}")
        if loss not in LOSSES:
            raise ConfigError(f"SRCNN: loss must be one of {sorted(LOSSES)}, got {loss!r}")
        self.loss = loss
        self.generator = SRCNNNet(channels, hidden, kernel_sizes)

    def _restore(self, lq: torch.Tensor, size: torch.Size) -> torch.Tensor:
        if lq.shape[-2:] != size:
            lq = F.interpolate(lq, size=tuple(size), mode="bicubic", align_corners=False)
        return self.generator(lq)

    def train_step(self, batch: dict, optim) -> dict[str, torch.Tensor]:
        device = module_device(self)
        lq = uint8_to_unit(batch_images(batch, "lq_img", "SRCNN.train_step", device))
        gt = uint8_to_unit(batch_images(batch, "gt_img", "SRCNN.train_step", device))
        wrapper = optim["generator"] if "generator" in optim else optim
        with wrapper.optim_context(self.generator):
            loss = LOSSES[self.loss](self._restore(lq, gt.shape[-2:]).float(), gt)
        wrapper.update_params(loss)
        return {"loss_pix": loss.detach()}

    @torch.no_grad()
    def val_step(self, batch: dict) -> dict[str, torch.Tensor]:
        """``{'pred_img': float RGB [0, 255], 'gt_img': batch['gt_img']}``."""
        device = module_device(self)
        lq = uint8_to_unit(batch_images(batch, "lq_img", "SRCNN.val_step", device))
        gt = batch_images(batch, "gt_img", "SRCNN.val_step", device)
        pred = self._restore(lq, gt.shape[-2:]).float().mul_(255.0).clamp_(0.0, 255.0)
        return {"pred_img": pred, "gt_img": batch["gt_img"]}
