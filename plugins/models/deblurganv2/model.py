"""``DeblurGanV2`` (MMagic's name and arguments): the FPN generator trained against a double
discriminator with DeblurGANv2's losses (Kupyn et al. 2019).

Each ``train_step``, as MMagic's:

1. the generator deblurs the batch (inputs and targets in [-1, 1]);
2. the discriminator is updated on ``adv_lambda · ½(disc_loss(patch_gan) + disc_loss(full_gan))``
   (one copy of ``disc_loss`` per part, so each keeps its own relativistic pools; a discriminator
   without ``full_gan`` uses ``disc_loss`` on its ``patch_gan``, or on itself);
3. the generator is updated on ``loss_g_content = 0.006 · pixel_loss + 0.5 · MSE`` of the two images
   normalised as VGG's input, plus ``loss_g_adv``, the generator side of the same adversarial terms
   times ``adv_lambda``.

``warmup_num``: the generator's backbone stays frozen for that many epochs and is released at the
start of epoch ``warmup_num`` (MMagic's intent; MMagic 1.2.0's epoch counter never advances, so its
backbone in fact stays frozen throughout). Validation and test pad each side with zeros (in [-1, 1])
on the bottom/right to ``(side // 32 + 1) · 32`` and crop the result back, as MMagic's test mode
does (a full extra block even when the side divides: the Inception FPN needs that margin at its
coarsest level; MMagic's validation mode does not pad, mgx's validation is its test step).
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from mgx.core.errors import ConfigError
from mgx.core.registry import build

from ..base_models.base_edit_model import BaseEditModel
from ..common import frozen, module_device

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
BLOCK = 32  # the FPN's coarsest stride


class DeblurGanV2(BaseEditModel):
    def __init__(self, generator: dict, discriminator: dict | None = None, pixel_loss: dict | None = None,
                 disc_loss: dict | str | None = None, adv_lambda: float = 0.001, warmup_num: int = 3,
                 train_cfg: dict | None = None, test_cfg: dict | None = None, init_cfg: dict | None = None,
                 data_preprocessor: dict | None = None) -> None:
        super().__init__(generator, pixel_loss, None, test_cfg, init_cfg, data_preprocessor)
        who = "DeblurGanV2"
        self.train_cfg = dict(train_cfg or {})  # MMagic stores it and reads nothing from it
        if isinstance(warmup_num, bool) or not isinstance(warmup_num, int) or warmup_num < 0:
            raise ConfigError(f"{who}: warmup_num must be an int ≥ 0, got {warmup_num!r}")
        if isinstance(adv_lambda, bool) or not isinstance(adv_lambda, (int, float)):
            raise ConfigError(f"{who}: adv_lambda must be a number, got {adv_lambda!r}")
        self.adv_lambda, self.warmup_num = float(adv_lambda), warmup_num
        self.discriminator = build(discriminator, "model") if discriminator else None
        if isinstance(disc_loss, str):
            disc_loss = dict(type="AdvLoss", loss_type=disc_loss)
        self.disc_loss = build(disc_loss, "model") if disc_loss else None
        if self.discriminator is not None and self.disc_loss is None:
            raise ConfigError(f"{who}: a discriminator needs disc_loss=dict(type='AdvLoss', loss_type=...)")
        if self.discriminator is not None and type(self.discriminator).__name__ == "MultiScale":
            raise ConfigError(f"{who}: the 'MultiScale' discriminator returns three maps, which DeblurGanV2's "
                              f"losses do not take (nor MMagic's); use 'DoubleGan' or 'PatchGan'")
        self.disc_loss2 = copy.deepcopy(self.disc_loss) if self._parts()[1] is not None else None
        if self.pixel_loss is None:
            raise ConfigError(f"{who} needs pixel_loss (MMagic's configs: PerceptualLoss on VGG19 layer '14')")
        self.register_buffer("step_counter", torch.tensor(0, dtype=torch.int64))
        self.register_buffer("imagenet_mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("imagenet_std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.load_model_init()

    def _parts(self) -> tuple:
        """(the network ``disc_loss`` judges with, the one ``disc_loss2`` does, or None)."""
        disc = self.discriminator
        if disc is None:
            return None, None
        return getattr(disc, "patch_gan", disc), getattr(disc, "full_gan", None)

    def before_train_epoch(self, epoch: int) -> None:
        """Release the generator's backbone once ``warmup_num`` epochs have passed."""
        if epoch >= self.warmup_num and hasattr(self.generator, "unfreeze"):
            self.generator.unfreeze()

    def adapt_loaded_weights(self, weights: dict) -> dict:
        """An MMagic checkpoint: its ``pixel_loss`` VGG (mgx loads VGG from its weights file) and
        preprocessor are dropped; it has no ``step_counter`` (0)."""
        adapted = {k: v for k, v in weights.items() if not k.startswith(("pixel_loss.", "data_preprocessor."))}
        adapted.setdefault("step_counter", torch.zeros((), dtype=torch.int64))
        return adapted

    # -- losses ------------------------------------------------------------

    def _adversarial(self, fake: torch.Tensor, real: torch.Tensor, model: str) -> torch.Tensor:
        patch, full = self._parts()
        loss = self.disc_loss(patch, fake, real, model=model)
        if full is not None:
            loss = (loss + self.disc_loss2(full, fake, real, model=model)) / 2
        return loss

    def _vgg_normalised(self, images: torch.Tensor) -> torch.Tensor:
        return ((images + 1) / 2.0 - self.imagenet_mean) / self.imagenet_std

    def generator_losses(self, output: torch.Tensor, gt: torch.Tensor) -> dict[str, torch.Tensor]:
        perceptual = self.pixel_loss(output, gt)
        perceptual = perceptual[0] if isinstance(perceptual, tuple) else perceptual
        pixel = F.mse_loss(self._vgg_normalised(output), self._vgg_normalised(gt))
        losses = {"loss_g_content": 0.006 * perceptual + 0.5 * pixel}
        if self.discriminator is not None:
            losses["loss_g_adv"] = self.adv_lambda * self._adversarial(output, gt, "generator")
        losses["loss_g"] = sum(losses.values())
        return losses

    # -- engine API --------------------------------------------------------

    def train_step(self, batch: dict, optim) -> dict[str, torch.Tensor]:
        who = "DeblurGanV2.train_step"
        needed = ("generator", "discriminator") if self.discriminator is not None else ("generator",)
        for name in needed:
            if name not in optim:
                raise ConfigError(f"DeblurGanV2 needs optim_wrapper.{name}=dict(optimizer=...); the config "
                                  f"defines {list(optim)}")
        device = module_device(self)
        lq, gt = self._input(batch, who, device), self._target(batch, who, device)
        gen_optim = optim["generator"]
        log: dict[str, torch.Tensor] = {}
        with gen_optim.optim_context(self.generator):
            output = self.generator(lq).float()
        self._check_sizes(output, gt, lq)
        if self.discriminator is not None:
            disc_optim = optim["discriminator"]
            with disc_optim.optim_context(self.discriminator):
                loss_d = self.adv_lambda * self._adversarial(output.detach(), gt, "discriminator")
            disc_optim.update_params(loss_d)
            log["loss_d"] = loss_d.detach()
        with frozen(self.discriminator), gen_optim.optim_context(self.generator):
            losses = self.generator_losses(output, gt)
        gen_optim.update_params(losses["loss_g"])
        log.update({key: value.detach() for key, value in losses.items()})
        self.step_counter += 1
        return log

    def _generate(self, normalized: torch.Tensor) -> torch.Tensor:
        """The generator on the input zero-padded (bottom/right) to the next multiple of 32 above its
        size (MMagic's ``(h // 32 + 1) · 32``), cropped back."""
        height, width = normalized.shape[-2:]
        padded = F.pad(normalized, (0, (width // BLOCK + 1) * BLOCK - width, 0, (height // BLOCK + 1) * BLOCK - height))
        return self.inference_generator()(padded)[..., :height, :width]
