"""``DIC`` (MMagic's name and arguments): face super-resolution ×8 (16×16 -> 128×128) by DICNet,
trained on the image of every step (``pixel_loss``) and on its landmark heatmaps against the
batch's ``gt_heatmap`` (``align_loss``; MMagic's ``GenerateFacialHeatmap`` makes them).

From ``train_cfg.pixel_init`` on (counted by the persistent ``step_counter``) the last step's image
also gets ``feature_loss`` (``LightCNNFeatureLoss``) and, with a ``discriminator`` (``LightCNN``) and
``gan_loss``, the adversarial loss; the discriminator is then updated ``disc_repeat`` times per
step. Optimizers: ``generator`` and ``discriminator``. Validation and test restore with the last step.
"""
from __future__ import annotations

from typing import Callable

import torch

from mgx.core.errors import ConfigError
from mgx.core.registry import build

from ..common import batch_images, frozen, module_device
from ..srgan.srgan import SRGAN


class DIC(SRGAN):
    def __init__(self, generator: dict, pixel_loss: dict, align_loss: dict, discriminator: dict | None = None,
                 gan_loss: dict | None = None, feature_loss: dict | None = None, train_cfg: dict | None = None,
                 test_cfg: dict | None = None, init_cfg: dict | None = None,
                 data_preprocessor: dict | None = None) -> None:
        srgan_train_cfg, pixel_init = self.split_pixel_init(train_cfg, "DIC")
        super().__init__(generator, discriminator, gan_loss, pixel_loss, None, srgan_train_cfg, test_cfg, init_cfg,
                         data_preprocessor)
        self.pixel_init = pixel_init
        self.train_cfg.update(pixel_init=pixel_init)  # (the model's own train_cfg, kept whole as MMagic's)
        if not isinstance(align_loss, dict):
            raise ConfigError(f"DIC: align_loss must be dict(type=...), got {align_loss!r}")
        self.align_loss = build(align_loss, "model")
        self.feature_loss = build(feature_loss, "model") if feature_loss else None
        self._parts_built = True
        self.load_model_init()

    def load_model_init(self) -> None:
        if getattr(self, "_parts_built", False):  # (SRGAN calls it before the losses exist)
            super().load_model_init()

    def inference_generator(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """The last step's image."""
        return lambda images: self.generator(images)[0][-1]

    def _generator_losses(self, images: list, heatmaps: list, gt: torch.Tensor, gt_heatmap: torch.Tensor,
                          full: bool) -> dict[str, torch.Tensor]:
        losses: dict[str, torch.Tensor] = {}
        for step, (image, heatmap) in enumerate(zip(images, heatmaps)):
            losses[f"loss_pixel_v{step}"] = self.pixel_loss(image.float(), gt)
            losses[f"loss_align_v{step}"] = self.align_loss(heatmap.float(), gt_heatmap)
        if full:  # from pixel_init on
            if self.feature_loss is not None:
                losses["loss_feature"] = self.feature_loss(images[-1].float(), gt)
            if self.disc_repeat:
                losses["loss_gan"] = self.adversarial_loss(images[-1].float(), gt)
        return losses

    def train_step(self, batch: dict, optim) -> dict[str, torch.Tensor]:
        who = "DIC.train_step"
        if self.pixel_loss is None:
            raise ConfigError("DIC needs pixel_loss=dict(type='L1Loss', ...)")
        for name in ("generator", "discriminator") if self.disc_repeat else ("generator",):
            if name not in optim:
                raise ConfigError(f"DIC needs optim_wrapper.{name}=dict(optimizer=...); the config defines "
                                  f"{list(optim)}")
        device = module_device(self)
        lq, gt = self._input(batch, who, device), self._target(batch, who, device)
        gt_heatmap = batch_images(batch, "gt_heatmap", who, device).float()
        full = int(self.step_counter) >= self.pixel_init
        gen_optim = optim["generator"]
        with frozen(self.discriminator), gen_optim.optim_context(self.generator):
            images, heatmaps = self.generator(lq)
            self._check_sizes(images[-1], gt, lq)
            if heatmaps[-1].shape != gt_heatmap.shape:
                raise ConfigError(f"DIC: the generator estimates heatmaps of {tuple(heatmaps[-1].shape[1:])} but "
                                  f"gt_heatmap is {tuple(gt_heatmap.shape[1:])}: GenerateFacialHeatmap's "
                                  f"target_size and the generator's hg_num_keypoints must match them")
            losses = self._generator_losses(images, heatmaps, gt, gt_heatmap, full)
            total = sum(losses.values())
        gen_optim.update_params(total)
        log = {key: value.detach() for key, value in losses.items()}
        if self.disc_repeat and full:
            log.update(self.update_discriminator(optim["discriminator"], images[-1].detach(), gt))
        self.step_counter += 1
        return log
