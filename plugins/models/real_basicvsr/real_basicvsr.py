"""``RealBasicVSR`` (MMagic 1.2.0's name and arguments): Real-ESRGAN's training (EMA generator, sharpened
ground truths, optional UNet discriminator and perceptual loss) on clips, plus the ``cleaning_loss``
between the generator's cleaned low-quality frames and the pixel-loss ground truth reduced ×4 (area).

Batches hold clips: ``inputs`` N×T×C×h×w, ``gt_img`` (and ``gt_unsharp``) N×T×C×H×W. Pixel, perceptual
and GAN losses read the clips' frames as one batch of N·T images, as MMagic does. ``val_step`` and
``forward`` run the EMA generator (when ``is_use_ema``) on whole clips and return N×T×C×H×W in [0, 255].
"""
from __future__ import annotations

from typing import Any

import torch
from torch.nn import functional as F

from mgx.core.errors import MgxError
from mgx.core.registry import build

from ..basicvsr.basicvsr import clip_batch, destruct_clips, normalize_clips
from ..common import module_device
from ..real_esrgan.real_esrgan import SHARPENED_KEY, RealESRGAN


class RealBasicVSR(RealESRGAN):
    """See the module docstring. (MMagic's default ``is_use_ema`` is False here, unlike RealESRGAN's.)"""

    def __init__(self, generator: dict, discriminator: dict | None = None, gan_loss: dict | None = None,
                 pixel_loss: dict | None = None, cleaning_loss: dict | None = None,
                 perceptual_loss: dict | None = None, is_use_sharpened_gt_in_pixel: bool = False,
                 is_use_sharpened_gt_in_percep: bool = False, is_use_sharpened_gt_in_gan: bool = False,
                 is_use_ema: bool = False, train_cfg: dict | None = None, test_cfg: dict | None = None,
                 init_cfg: dict | None = None, data_preprocessor: dict | None = None) -> None:
        super().__init__(generator, discriminator, gan_loss, pixel_loss, perceptual_loss,
                         is_use_sharpened_gt_in_pixel, is_use_sharpened_gt_in_percep, is_use_sharpened_gt_in_gan,
                         is_use_ema, train_cfg, test_cfg, init_cfg, data_preprocessor)
        self.cleaning_loss = build(cleaning_loss, "model") if cleaning_loss else None

    # -- training: clips in, their frames as one image batch for the losses ------

    def training_pair(self, batch: dict, who: str, device: torch.device) -> tuple:
        lqs = normalize_clips(self.data_preprocessor, clip_batch(batch, self._input_key(batch), who, device))
        gts = normalize_clips(self.data_preprocessor, clip_batch(batch, "gt_img", who, device))
        if lqs.dim() != 5 or gts.dim() != 5:
            raise MgxError(f"{who}: inputs and gt_img must be clips N×T×C×H×W, got {tuple(lqs.shape)} and "
                           f"{tuple(gts.shape)}")
        return lqs, gts.flatten(0, 1)

    def loss_targets(self, batch: dict, gt: torch.Tensor, who: str,
                     device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        sharpened = batch.get(SHARPENED_KEY) if isinstance(batch, dict) else None
        if isinstance(sharpened, torch.Tensor) and sharpened.dim() == 5:
            batch = {**batch, SHARPENED_KEY: sharpened.flatten(0, 1)}
        return super().loss_targets(batch, gt, who, device)

    def train_forward(self, lq: torch.Tensor) -> tuple[torch.Tensor, Any]:
        outputs, cleaned = self.generator(lq, return_lqs=True)
        return outputs.flatten(0, 1), cleaned

    def extra_losses(self, extra: Any, targets: tuple) -> dict[str, torch.Tensor]:
        if self.cleaning_loss is None:
            return {}
        cleaned = extra.flatten(0, 1).float()
        clean_gt = F.interpolate(targets[0], scale_factor=0.25, mode="area", recompute_scale_factor=False)
        if clean_gt.shape != cleaned.shape:
            raise MgxError(f"{type(self).__name__}: the cleaned frames {tuple(cleaned.shape[-2:])} and the ground "
                           f"truth reduced ×4 {tuple(clean_gt.shape[-2:])} differ: RealBasicVSRNet is ×4 only")
        return {"loss_clean": self.cleaning_loss(cleaned, clean_gt)}

    # -- inference on clips --------------------------------------------------------

    @staticmethod
    def _input_key(batch: dict) -> str:
        return "lq_img" if isinstance(batch, dict) and "lq_img" in batch else "inputs"

    def _restore(self, clips: torch.Tensor) -> torch.Tensor:
        generator = self.inference_generator()
        return destruct_clips(self.data_preprocessor, generator(normalize_clips(self.data_preprocessor, clips)))

    @torch.no_grad()
    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        """Restore N×T×C×h×w clips in [0, 255]: float RGB in [0, 255], N×T×C×4h×4w."""
        return self._restore(clips.to(module_device(self)))

    @torch.no_grad()
    def val_step(self, batch: dict) -> dict[str, Any]:
        """``pred_img`` N×T×C×H×W; ``gt_img`` when its size is the prediction's (MMagic's VideoLQ test set gives
        the input as ``gt``: a no-reference metric such as NIQE reads ``pred_img`` alone)."""
        who = f"{type(self).__name__}.val_step"
        pred = self._restore(clip_batch(batch, self._input_key(batch), who, module_device(self)))
        outputs: dict[str, Any] = {"pred_img": pred}
        gt = batch.get("gt_img") if isinstance(batch, dict) else None
        if isinstance(gt, torch.Tensor) and gt.shape[-2:] == pred.shape[-2:]:
            outputs["gt_img"] = gt
        return outputs
