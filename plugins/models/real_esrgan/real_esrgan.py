"""``RealESRGAN`` (MMagic 1.2.0's name and arguments): SRGAN trained on synthetically degraded inputs,
with an EMA copy of the generator for evaluation.

- ``generator_ema`` (``is_use_ema``): a copy of the generator that ``ExponentialMovingAverageHook``
  (``custom_hooks``) moves towards the trained one; validation, test and ``forward`` use it.
- ``is_use_sharpened_gt_in_pixel`` / ``_percep`` / ``_gan``: which losses compare against the
  unsharp-masked ground truth ``gt_unsharp`` (the pipeline's ``UnsharpMasking(keys=['gt'])``)
  instead of ``gt``. MMagic divides it by 255; here the data preprocessor normalises it like ``gt``
  (the same for the published configs, mean 0 and std 255).
- ``train_cfg.start_iter``: accepted and stored as MMagic does (it reads it nowhere).

Without a discriminator it is Real-ESRNet (the PSNR-oriented first stage): pixel loss only.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from mgx.core.errors import ConfigError

from ..common import batch_images
from ..srgan.srgan import SRGAN

SHARPENED_KEY = "gt_unsharp"


class RealESRGAN(SRGAN):
    TRAIN_KEYS = SRGAN.TRAIN_KEYS | {"start_iter"}

    def __init__(self, generator: dict, discriminator: dict | None = None, gan_loss: dict | None = None,
                 pixel_loss: dict | None = None, perceptual_loss: dict | None = None,
                 is_use_sharpened_gt_in_pixel: bool = False, is_use_sharpened_gt_in_percep: bool = False,
                 is_use_sharpened_gt_in_gan: bool = False, is_use_ema: bool = True, train_cfg: dict | None = None,
                 test_cfg: dict | None = None, init_cfg: dict | None = None,
                 data_preprocessor: dict | None = None) -> None:
        super().__init__(generator, discriminator, gan_loss, pixel_loss, perceptual_loss, train_cfg, test_cfg,
                         init_cfg, data_preprocessor)
        self.sharpened = {"pixel": bool(is_use_sharpened_gt_in_pixel),
                          "perceptual": bool(is_use_sharpened_gt_in_percep), "gan": bool(is_use_sharpened_gt_in_gan)}
        self.is_use_ema = bool(is_use_ema)
        self.generator_ema: nn.Module | None = copy.deepcopy(self.generator) if self.is_use_ema else None
        if self.generator_ema is not None:
            self.generator_ema.requires_grad_(False)
        start_iter = self.train_cfg.get("start_iter", -1)
        if isinstance(start_iter, bool) or not isinstance(start_iter, int):
            raise ConfigError(f"RealESRGAN: train_cfg.start_iter must be an int, got {start_iter!r}")
        self.start_iter = start_iter

    def inference_generator(self) -> nn.Module:
        return self.generator_ema if self.generator_ema is not None else self.generator

    def loss_targets(self, batch: dict, gt: torch.Tensor, who: str,
                     device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if not any(self.sharpened.values()):
            return gt, gt, gt
        if not (isinstance(batch, dict) and SHARPENED_KEY in batch):
            wanted = [f"is_use_sharpened_gt_in_{'percep' if k == 'perceptual' else k}"
                      for k, v in self.sharpened.items() if v]
            raise ConfigError(f"RealESRGAN: {', '.join(wanted)} need the batch's {SHARPENED_KEY!r}: add "
                              f"dict(type='UnsharpMasking', keys=['gt'], ...) to the training pipeline")
        sharp = self.data_preprocessor.normalize(batch_images(batch, SHARPENED_KEY, who, device))
        pick = [sharp if self.sharpened[name] else gt for name in ("pixel", "perceptual", "gan")]
        return pick[0], pick[1], pick[2]
