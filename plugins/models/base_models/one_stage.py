"""``OneStageInpaintor`` (MMagic's name and arguments): an encoder-decoder fills the hole of a masked
image, optionally against a discriminator, with MMagic's inpainting losses.

Batches (``LoadMask`` + ``GetMaskedImage`` + ``PackInputs``): ``inputs`` the masked image (float, hole
at 127.5), ``gt_img`` the clean image, ``mask`` N×1×H×W with 1 in the hole. The data preprocessor maps
images to the generator's range (MMagic's configs: [-1, 1]); the generator sees ``cat(masked, mask)``.
``val_step`` returns ``pred_img`` = the output inside the hole and the input outside it, in [0, 255], so
PSNR/SSIM/MAE(mask_key='mask') score the completed image and the sample grid shows masked input /
completion / ground truth.

The discriminator's update counter ``disc_step_count`` is a buffer, so ``--resume`` continues the same
schedule; MMagic's checkpoints lack it (``adapt_loaded_weights`` starts it at 0).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from mgx.core.errors import ConfigError, MgxError
from mgx.core.registry import build

from ..common import batch_images, module_device

LOSS_NAMES = ("loss_gan", "loss_gp", "loss_disc_shift", "loss_l1_hole", "loss_l1_valid", "loss_tv")


def set_requires_grad(module: nn.Module | None, flag: bool) -> None:
    if module is not None:
        for parameter in module.parameters():
            parameter.requires_grad_(flag)


def detached_sum(losses: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """(sum of the losses, their detached values plus the sum as ``loss``), as MMEngine's parse_losses logs."""
    total = sum(losses.values())
    logged = {name: value.detach() for name, value in losses.items()}
    logged["loss"] = total.detach()
    return total, logged


def detached(data: Any) -> Any:
    """A tensor, or a tuple of them (Global&Local's image and local patch), cut from the graph."""
    return tuple(part.detach() for part in data) if isinstance(data, tuple) else data.detach()


def named_optim(optim, name: str):
    """``optim[name]`` when the config names one per sub-module, else the single optimizer."""
    return optim[name] if name in optim else optim


class OneStageInpaintor(nn.Module):
    """Encoder-decoder (``encdec``) + optional discriminator (``disc``) + losses (module docstring)."""

    TRAIN_KEYS = frozenset({"disc_step", "start_iter"})

    def __init__(self, data_preprocessor: dict, encdec: dict, disc: dict | None = None, loss_gan: dict | None = None,
                 loss_gp: dict | None = None, loss_disc_shift: dict | None = None,
                 loss_composed_percep: dict | None = None, loss_out_percep: bool = False,
                 loss_l1_hole: dict | None = None, loss_l1_valid: dict | None = None, loss_tv: dict | None = None,
                 train_cfg: dict | None = None, test_cfg: dict | None = None, init_cfg: dict | None = None) -> None:
        super().__init__()
        who = type(self).__name__
        self.train_cfg, self.test_cfg = dict(train_cfg or {}), dict(test_cfg or {})
        unknown = sorted(set(self.train_cfg) - self.TRAIN_KEYS)
        if unknown:
            raise ConfigError(f"{who}: model.train_cfg has unknown key(s) {unknown}; it takes "
                              f"{sorted(self.TRAIN_KEYS)}")
        if init_cfg is not None:
            raise ConfigError(f"{who}: init_cfg is not supported; load MMagic weights with load_from")
        self.disc_step = int(self.train_cfg.get("disc_step", 0))
        if self.disc_step > 0 and (disc is None or loss_gan is None):
            raise ConfigError(f"{who}: model.train_cfg.disc_step={self.disc_step} needs disc=... and loss_gan=...")
        self.data_preprocessor = build(data_preprocessor or dict(type="DataPreprocessor"), "model")
        self.generator = build(encdec, "model")
        self.with_gan = disc is not None and loss_gan is not None
        self.disc = build(disc, "model") if self.with_gan else None
        for name, cfg in zip(LOSS_NAMES, (loss_gan, loss_gp, loss_disc_shift, loss_l1_hole, loss_l1_valid, loss_tv)):
            keep = cfg is not None and (name != "loss_gan" or self.with_gan)
            setattr(self, name, build(cfg, "model") if keep else None)
        self.loss_percep = build(loss_composed_percep, "model") if loss_composed_percep is not None else None
        self.with_composed_percep_loss = loss_composed_percep is not None
        self.with_out_percep_loss = bool(loss_out_percep)
        if self.with_out_percep_loss and self.loss_percep is None:
            raise ConfigError(f"{who}: loss_out_percep=True uses loss_composed_percep's network; give that too")
        self.register_buffer("disc_step_count", torch.zeros((), dtype=torch.long))

    # -- data --------------------------------------------------------------

    def batch_tensors(self, batch: dict, who: str, with_gt: bool = True) -> tuple[torch.Tensor, ...]:
        """(masked image, mask, ground truth or None), images normalised, mask float 0/1 N×1×H×W."""
        device = module_device(self)
        masked = self.data_preprocessor.normalize(batch_images(batch, "inputs", who, device))
        mask = batch_images(batch, "mask", who, device).float()
        if mask.shape[1] != 1 or mask.shape[-2:] != masked.shape[-2:]:
            raise MgxError(f"{who}: batch['mask'] is {tuple(mask.shape)} for inputs {tuple(masked.shape)}; LoadMask "
                           "makes an H×W×1 mask of the image's size")
        gt = self.data_preprocessor.normalize(batch_images(batch, "gt_img", who, device)) if with_gt else None
        return masked, mask, gt

    def run_generator(self, masked: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The generator's direct output for a masked image and its hole mask (1 = hole)."""
        return self.generator(torch.cat([masked, mask], dim=1))

    # -- inference ---------------------------------------------------------

    @torch.no_grad()
    def val_step(self, batch: dict) -> dict[str, Any]:
        """``pred_img`` (completed image), ``fake_res`` (direct output), ``gt_img`` and ``mask``; images in
        [0, 255]."""
        masked, mask, _ = self.batch_tensors(batch, f"{type(self).__name__}.val_step", with_gt=False)
        fake_res = self.run_generator(masked, mask)
        fake_img = fake_res * mask + masked * (1.0 - mask)
        outputs: dict[str, Any] = {"pred_img": self.data_preprocessor.destruct(fake_img),
                                   "fake_res": self.data_preprocessor.destruct(fake_res), "mask": batch["mask"]}
        if "gt_img" in batch:
            outputs["gt_img"] = batch["gt_img"]
        return outputs

    # -- training ----------------------------------------------------------

    def forward_train_d(self, data: Any, is_real: bool, is_disc: bool) -> dict[str, torch.Tensor]:
        """The discriminator's GAN loss on real or fake data (plus the shift loss, halved: real and fake
        each count once)."""
        loss = self.loss_gan(self.disc(data), is_real, is_disc)
        losses = {"real_loss" if is_real else "fake_loss": loss}
        if self.loss_disc_shift is not None:
            losses["loss_disc_shift"] = self.loss_disc_shift(loss) * 0.5
        return losses

    def generator_loss(self, fake_res: torch.Tensor, fake_img: torch.Tensor, gt: torch.Tensor,
                       mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """MMagic's generator losses: adversarial on the completion, L1 in the hole and outside it,
        perceptual/style on the completion (and the direct output), TV inside the hole."""
        losses: dict[str, torch.Tensor] = {}
        if self.with_gan:
            losses["loss_g_fake"] = self.loss_gan(self.disc(fake_img), True, is_disc=False)
        if self.loss_l1_hole is not None:
            losses["loss_l1_hole"] = self.loss_l1_hole(fake_res, gt, weight=mask)
        if self.loss_l1_valid is not None:
            losses["loss_l1_valid"] = self.loss_l1_valid(fake_res, gt, weight=1.0 - mask)
        for prefix, image, wanted in (("composed", fake_img, self.with_composed_percep_loss),
                                      ("out", fake_res, self.with_out_percep_loss)):
            if wanted:
                percep, style = self.loss_percep(image, gt)
                if percep is not None:
                    losses[f"loss_{prefix}_percep"] = percep
                if style is not None:
                    losses[f"loss_{prefix}_style"] = style
        if self.loss_tv is not None:
            losses["loss_tv"] = self.loss_tv(fake_img, mask=mask)
        return losses

    def gradient_penalty(self, fake: Any, real: Any, mask: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """The discriminator's gradient penalty terms (none without ``loss_gp``)."""
        if self.loss_gp is None:
            return {}
        return {"loss_gp": self.loss_gp(self.disc, real, fake, mask=mask)}

    def discriminator_losses(self, fake_img: Any, gt: Any, mask: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """The discriminator's losses on the detached fake and the real data."""
        losses = self.forward_train_d(detached(fake_img), False, True)
        for name, value in self.forward_train_d(gt, True, True).items():  # shift terms: real + fake
            losses[name] = losses[name] + value if name in losses else value
        losses.update(self.gradient_penalty(detached(fake_img), gt, mask))
        return losses

    def discriminator_step(self, optim, fake_img: Any, gt: Any,
                           mask: torch.Tensor | None) -> tuple[dict[str, torch.Tensor], bool]:
        """One discriminator update on the fake and real data (a tensor or a tuple the discriminator takes);
        (logged losses, whether the generator updates this iteration)."""
        disc_optim = optim["disc"]
        set_requires_grad(self.disc, True)
        with disc_optim.optim_context(self.disc):
            total, logged = detached_sum(self.discriminator_losses(fake_img, gt, mask))
        disc_optim.update_params(total)
        self.disc_step_count.copy_((self.disc_step_count + 1) % self.disc_step)
        return {f"disc_{k}" if k == "loss" else k: v for k, v in logged.items()}, int(self.disc_step_count) == 0

    def train_step(self, batch: dict, optim) -> dict[str, torch.Tensor]:
        who = f"{type(self).__name__}.train_step"
        masked, mask, gt = self.batch_tensors(batch, who)
        gen_optim = named_optim(optim, "generator")
        with gen_optim.optim_context(self.generator):
            fake_res = self.run_generator(masked, mask)
        fake_img = gt * (1.0 - mask) + fake_res * mask
        logged: dict[str, torch.Tensor] = {}
        if self.disc_step > 0:
            logged, generator_due = self.discriminator_step(optim, fake_img, gt, mask)
            if not generator_due:
                return logged
        set_requires_grad(self.disc, False)
        try:
            with gen_optim.optim_context(self.generator):
                total, generator_logged = detached_sum(self.generator_loss(fake_res, fake_img, gt, mask))
            gen_optim.update_params(total)
        finally:
            set_requires_grad(self.disc, True)
        logged.update(generator_logged)
        return logged

    def adapt_loaded_weights(self, weights: dict) -> dict:
        """MMagic checkpoints: the same keys, without mgx's counters (kept at their current values) and with
        ``data_preprocessor.*`` (mean/std come from the config)."""
        adapted = {key: value for key, value in weights.items() if not key.startswith("data_preprocessor.")}
        for name, buffer in self.named_buffers():
            if name.count(".") == 0:  # the model's own counters
                adapted.setdefault(name, buffer.clone())
        return adapted


__all__ = ["OneStageInpaintor", "detached", "detached_sum", "named_optim", "set_requires_grad"]
