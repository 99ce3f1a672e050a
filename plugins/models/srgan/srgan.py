"""``SRGAN`` (MMagic's name and arguments): generator + discriminator with pixel, perceptual and
adversarial losses (``ESRGAN`` in ``esrgan/`` changes only the adversarial terms).

Each ``train_step`` (MMagic's schedule, counted by the persistent ``step_counter``
buffer so a resumed run continues it exactly):

1. the generator restores the batch;
2. every ``train_cfg.disc_steps`` steps, once ``step_counter ≥ disc_init_steps``,
   the generator is updated on pixel + perceptual (+ style) + GAN losses, with the
   discriminator frozen;
3. the discriminator is updated ``disc_repeat`` times on real/fake GAN losses.

Optimizers are named ``generator`` and ``discriminator`` (MMagic's
``MultiOptimWrapperConstructor`` layout). ``gan_loss.loss_weight`` weighs the
generator's GAN loss only.
"""
from __future__ import annotations

from typing import Any

import torch

from mgx.core.errors import ConfigError
from mgx.core.registry import build

from ..base_models.base_edit_model import BaseEditModel
from ..base_models.pretrained import load_pretrained, split_init_cfg
from ..common import frozen, module_device


class SRGAN(BaseEditModel):
    TRAIN_KEYS = frozenset({"disc_steps", "disc_repeat", "disc_init_steps"})

    def __init__(self, generator: dict, discriminator: dict | None = None, gan_loss: dict | None = None,
                 pixel_loss: dict | None = None, perceptual_loss: dict | None = None, train_cfg: dict | None = None,
                 test_cfg: dict | None = None, init_cfg: dict | None = None,
                 data_preprocessor: dict | None = None) -> None:
        super().__init__(generator, pixel_loss, train_cfg, test_cfg, init_cfg, data_preprocessor)
        self.discriminator = self._build_discriminator(discriminator) if discriminator else None
        self.gan_loss = build(gan_loss, "model") if gan_loss else None
        self.perceptual_loss = build(perceptual_loss, "model") if perceptual_loss else None
        who = type(self).__name__
        for name in sorted(self.TRAIN_KEYS):
            value = self.train_cfg.get(name, 0 if name == "disc_init_steps" else 1)
            low = 0 if name == "disc_init_steps" else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"{who}: train_cfg.{name} must be an int ≥ {low}, got {value!r}")
            setattr(self, name, value)
        if self.discriminator is None or self.gan_loss is None:
            self.disc_repeat = 0
        if self.pixel_loss is None and self.perceptual_loss is None and not self.disc_repeat:
            raise ConfigError(f"{who}: give at least one of pixel_loss, perceptual_loss or discriminator + gan_loss")
        # persistent (unlike MMagic's) so that --resume continues the disc_steps schedule exactly
        self.register_buffer("step_counter", torch.tensor(0, dtype=torch.int64))
        self.load_model_init()

    def _build_discriminator(self, cfg: dict) -> torch.nn.Module:
        """Build it; its ``init_cfg=dict(type='Pretrained', ...)`` loads weights as the generator's does."""
        who = f"{type(self).__name__}.discriminator"
        if not isinstance(cfg, dict):
            raise ConfigError(f"{who} must be dict(type=...), got {cfg!r}")
        cfg, init = split_init_cfg(cfg, who)
        discriminator = build(cfg, "model")
        if init is not None:
            load_pretrained(discriminator, init, who)
        return discriminator

    def adapt_loaded_weights(self, weights: dict) -> dict:
        """An MMagic checkpoint of this model -> mgx's state dict (``load_from``, ``mgx run test``): MMagic saves
        the frozen VGG of ``perceptual_loss`` (mgx loads it from its weights file) and has no ``step_counter``
        (the schedule restarts at 0); a network with ``adapt_loaded_weights`` maps its own keys."""
        adapted = {k: v for k, v in weights.items() if not k.startswith(("perceptual_loss.", "data_preprocessor."))}
        adapted.setdefault("step_counter", torch.zeros((), dtype=torch.int64))
        for name, child in self.named_children():
            adapt = getattr(child, "adapt_loaded_weights", None)
            if callable(adapt):
                inner = {k[len(name) + 1:]: adapted.pop(k) for k in list(adapted) if k.startswith(f"{name}.")}
                adapted.update({f"{name}.{k}": v for k, v in adapt(inner).items()})
        return adapted

    # -- what a subclass with another data layout (clips: RealBasicVSR) replaces ------

    def training_pair(self, batch: dict, who: str, device: torch.device) -> tuple:
        """The normalised (generator input, ground truth the losses compare with)."""
        return self._input(batch, who, device), self._target(batch, who, device)

    def train_forward(self, lq) -> tuple[torch.Tensor, Any]:
        """The generator's training output, as the losses read it, and anything extra_losses needs."""
        return self.generator(lq), None

    def extra_losses(self, extra: Any, targets: tuple) -> dict[str, torch.Tensor]:
        """Generator losses beyond pixel/perceptual/GAN (none here)."""
        return {}

    # -- losses ------------------------------------------------------------

    def loss_targets(self, batch: dict, gt: torch.Tensor, who: str,
                     device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The ground truths of the (pixel, perceptual, adversarial) losses: ``gt`` for all three here."""
        return gt, gt, gt

    def generator_losses(self, output: torch.Tensor, targets: tuple) -> dict[str, torch.Tensor]:
        pixel_gt, percep_gt, gan_gt = targets
        losses: dict[str, torch.Tensor] = {}
        if self.pixel_loss is not None:
            losses["loss_pix"] = self.pixel_loss(output, pixel_gt)
        if self.perceptual_loss is not None:
            percep, style = self.perceptual_loss(output, percep_gt)
            if percep is not None:
                losses["loss_perceptual"] = percep
            if style is not None:
                losses["loss_style"] = style
        if self.disc_repeat:
            losses["loss_gan"] = self.adversarial_loss(output, gan_gt)
        return losses

    def adversarial_loss(self, output: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        """The generator's GAN loss (its weight included)."""
        return self.gan_loss(self.discriminator(output), target_is_real=True, is_disc=False)

    def discriminator_losses(self, fake: torch.Tensor, gt: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loss_d_real": self.gan_loss(self.discriminator(gt), target_is_real=True, is_disc=True),
                "loss_d_fake": self.gan_loss(self.discriminator(fake), target_is_real=False, is_disc=True)}

    # -- engine API --------------------------------------------------------

    def train_step(self, batch: dict, optim) -> dict[str, torch.Tensor]:
        who = f"{type(self).__name__}.train_step"
        for name in ("generator", "discriminator") if self.disc_repeat else ("generator",):
            if name not in optim:
                raise ConfigError(f"{type(self).__name__} needs optim_wrapper.{name}=dict(optimizer=...); "
                                  f"the config defines {list(optim)}")
        device = module_device(self)
        lq, gt = self.training_pair(batch, who, device)
        targets = self.loss_targets(batch, gt, who, device)
        gen_optim = optim["generator"]
        run_generator = int(self.step_counter) % self.disc_steps == 0 and int(self.step_counter) >= self.disc_init_steps
        log: dict[str, torch.Tensor] = {}
        if run_generator:
            with frozen(self.discriminator):
                with gen_optim.optim_context(self.generator):
                    output, extra = self.train_forward(lq)
                    self._check_sizes(output, gt, lq)
                    losses = self.generator_losses(output.float(), targets)
                    losses.update(self.extra_losses(extra, targets))
                    total = sum(losses.values())
                gen_optim.update_params(total)
            log.update({key: value.detach() for key, value in losses.items()})
            fake = output.detach()
        else:
            with torch.no_grad(), gen_optim.optim_context(self.generator):
                fake = self.train_forward(lq)[0]
            self._check_sizes(fake, gt, lq)
        if self.disc_repeat:
            log.update(self.update_discriminator(optim["discriminator"], fake, targets[2]))
        self.step_counter += 1
        return log

    def update_discriminator(self, disc_optim, fake: torch.Tensor, gt: torch.Tensor) -> dict[str, torch.Tensor]:
        """``disc_repeat`` updates on real/fake GAN losses; the last update's losses, detached."""
        for _ in range(self.disc_repeat):
            with disc_optim.optim_context(self.discriminator):
                d_losses = self.discriminator_losses(fake.float(), gt)
                d_total = d_losses["loss_d_real"] + d_losses["loss_d_fake"]
            disc_optim.update_params(d_total)
        return {key: value.detach() for key, value in d_losses.items()}

    @staticmethod
    def split_pixel_init(train_cfg: dict | None, who: str) -> tuple[dict, int]:
        """(train_cfg without ``pixel_init``, pixel_init): DIC's and TTSR's first iteration of the
        perceptual/GAN terms (SRGAN checks the rest of train_cfg)."""
        rest = dict(train_cfg or {})
        pixel_init = rest.pop("pixel_init", 0)
        if isinstance(pixel_init, bool) or not isinstance(pixel_init, int) or pixel_init < 0:
            raise ConfigError(f"{who}: train_cfg.pixel_init must be an int ≥ 0, got {pixel_init!r}")
        return rest, pixel_init
