"""``TTSR`` (MMagic's name and arguments): reference-based ×4 super-resolution.

The batch (MMagic's TTSR pipelines, packed by ``PackInputs``) holds the low-resolution input
(``inputs``), its ×4 bicubic upsampling (``img_lq``), the reference image (``ref_img``) and the
reference down- and up-sampled by 4 (``ref_lq``). The ``extractor`` (``LTE``) turns ``img_lq``,
``ref_lq`` and ``ref_img`` (in [0, 1]) into features; the ``transformer`` transfers the reference's
textures; the ``generator`` (``TTSRNet``) restores the normalised input with them.

Training (MMagic's schedule, counted by the persistent ``step_counter``): every step the generator
and the extractor are updated on the pixel loss, and from ``train_cfg.pixel_init`` on also on the
perceptual, transferal-perceptual and GAN losses; from ``pixel_init`` on the discriminator is then
updated ``disc_repeat`` times. Optimizers: ``generator``, ``extractor`` (stepped on the generator's
backward pass) and ``discriminator``. ``extractor_copy`` is a frozen copy of the extractor, refreshed
each step, that extracts the output's features for the transferal loss.
"""
from __future__ import annotations

from typing import Any

import torch

from mgx.core.errors import ConfigError, MgxError
from mgx.core.registry import build

from ..common import batch_images, frozen, module_device
from ..srgan.srgan import SRGAN


class TTSR(SRGAN):
    def __init__(self, generator: dict, extractor: dict, transformer: dict, pixel_loss: dict,
                 discriminator: dict | None = None, perceptual_loss: dict | None = None,
                 transferal_perceptual_loss: dict | None = None, gan_loss: dict | None = None,
                 train_cfg: dict | None = None, test_cfg: dict | None = None, init_cfg: dict | None = None,
                 data_preprocessor: dict | None = None) -> None:
        # pixel_init is TTSR's own; SRGAN checks the rest (disc_steps and disc_init_steps are accepted and,
        # as in MMagic, unused)
        srgan_train_cfg, pixel_init = self.split_pixel_init(train_cfg, "TTSR")
        super().__init__(generator, discriminator, gan_loss, pixel_loss, perceptual_loss, srgan_train_cfg,
                         test_cfg, init_cfg, data_preprocessor)
        if self.tile_size is not None:
            raise ConfigError("TTSR: test_cfg.tile_size is not supported (the reference search needs the whole "
                              "image); remove it")
        self.pixel_init = pixel_init
        self.train_cfg.update(pixel_init=pixel_init)  # (the model's own train_cfg, kept whole as MMagic's)
        for name, cfg in (("extractor", extractor), ("transformer", transformer)):
            if not isinstance(cfg, dict):
                raise ConfigError(f"TTSR: {name} must be dict(type=...), got {cfg!r}")
        self.transformer = build(transformer, "model")
        self.extractor = build(extractor, "model")
        self.extractor_copy = build({**extractor, "requires_grad": False}, "model")
        self.extractor_copy.requires_grad_(False)
        self.transferal_perceptual_loss = (build(transferal_perceptual_loss, "model")
                                           if transferal_perceptual_loss else None)
        self._parts_built = True
        self.load_model_init()

    def load_model_init(self) -> None:
        if getattr(self, "_parts_built", False):  # (SRGAN calls it before the extractor exists)
            super().load_model_init()

    # -- restoring -------------------------------------------------------------

    def _unit(self, batch: dict, key: str, who: str, device: torch.device) -> torch.Tensor:
        return batch_images(batch, key, who, device).float() / 255.0

    def restore(self, batch: dict, lq: torch.Tensor, who: str) -> tuple[torch.Tensor, torch.Tensor, list]:
        """(output in the generator's range, soft attention, transferred textures) for normalised ``lq``."""
        device = lq.device
        img_lq = self.extractor(self._unit(batch, "img_lq", who, device))[0]
        ref_lq = self.extractor(self._unit(batch, "ref_lq", who, device))[0]
        refs = self.extractor(self._unit(batch, "ref_img", who, device))
        soft_attention, textures = self.transformer(img_lq, ref_lq, refs)
        return self.generator(lq, soft_attention, textures), soft_attention, textures

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        raise MgxError("TTSR restores an image with a reference image: give it a batch with img_lq, ref_img and "
                       "ref_lq (MMagic's TTSR pipeline) through val_step")

    @torch.no_grad()
    def val_step(self, batch: dict) -> dict[str, Any]:
        who = "TTSR.val_step"
        lq = self._input(batch, who, module_device(self))
        pred = self.data_preprocessor.destruct(self.restore(batch, lq, who)[0])
        outputs: dict[str, Any] = {"pred_img": pred}
        if "gt_img" in batch and pred.shape[-2:] == batch["gt_img"].shape[-2:]:
            outputs["gt_img"] = batch["gt_img"]
        return outputs

    # -- training --------------------------------------------------------------

    def texture_losses(self, output: torch.Tensor, soft_attention: torch.Tensor,
                       textures: list) -> dict[str, torch.Tensor]:
        """The transferal perceptual loss: the output's features by the extractor's current weights."""
        if self.transferal_perceptual_loss is None:
            return {}
        self.extractor_copy.load_state_dict(self.extractor.state_dict())
        output_textures = self.extractor_copy((output + 1.0) / 2.0)
        return {"loss_transferal": self.transferal_perceptual_loss(output_textures, soft_attention, textures)}

    def _generator_losses(self, output: torch.Tensor, gt: torch.Tensor, soft_attention: torch.Tensor,
                          textures: list, full: bool) -> dict[str, torch.Tensor]:
        losses = {"loss_pix": self.pixel_loss(output, gt)} if self.pixel_loss is not None else {}
        if not full:  # before pixel_init: the pixel loss alone
            return losses
        if self.perceptual_loss is not None:
            percep, style = self.perceptual_loss(output, gt)
            losses.update({k: v for k, v in (("loss_perceptual", percep), ("loss_style", style)) if v is not None})
        losses.update(self.texture_losses(output, soft_attention, textures))
        if self.disc_repeat:
            losses["loss_gan"] = self.adversarial_loss(output, gt)
        return losses

    def train_step(self, batch: dict, optim) -> dict[str, torch.Tensor]:
        who = "TTSR.train_step"
        for name in ("generator", "extractor", "discriminator") if self.disc_repeat else ("generator", "extractor"):
            if name not in optim:
                raise ConfigError(f"TTSR needs optim_wrapper.{name}=dict(optimizer=...); the config defines "
                                  f"{list(optim)}")
        gen_optim, ext_optim = optim["generator"], optim["extractor"]
        if getattr(ext_optim, "scaler", None) is not None:
            raise ConfigError("TTSR trains without --amp (its extractor steps on the generator's backward pass)")
        device = module_device(self)
        lq, gt = self._input(batch, who, device), self._target(batch, who, device)
        full = int(self.step_counter) >= self.pixel_init
        with frozen(self.discriminator), gen_optim.optim_context(self.generator, self.extractor):
            output, soft_attention, textures = self.restore(batch, lq, who)
            self._check_sizes(output, gt, lq)
            losses = self._generator_losses(output.float(), gt, soft_attention, textures, full)
            total = sum(losses.values())
        boundary = gen_optim.at_update_boundary
        gen_optim.update_params(total)  # its backward pass also fills the extractor's gradients
        if boundary:
            ext_optim.step()
            ext_optim.zero_grad()
        log = {key: value.detach() for key, value in losses.items()}
        if self.disc_repeat and full:
            log.update(self.update_discriminator(optim["discriminator"], output.detach(), gt))
        self.step_counter += 1
        return log
