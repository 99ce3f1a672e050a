"""DCGAN (Radford et al. 2016): transposed-conv generator, strided-conv discriminator.

Two ways to configure it (docs/models.md, "DCGAN"):

- mgx's form: ``DCGAN(latent_dim, image_size, channels, base_channels, ...)``
  builds mgx's own networks (``mgx_networks.py``);
- MMagic 1.2.0's form: ``DCGAN(noise_size, data_preprocessor,
  generator=dict(type='DCGANGenerator', ...), discriminator=dict(type='DCGANDiscriminator', ...))``
  builds MMagic's networks (``mmagic_networks.py``), whose state-dict keys are MMagic's.

The engine DDP-wraps each trainable direct child, so the step path only ever
calls ``self.generator(z)`` and ``self.discriminator(x)``.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError, MgxError
from mgx.core.registry import build

from ..common import batch_images, frozen, module_device, uint8_to_signed
from .checkpoint import convert_mmagic_state_dict
from .mgx_networks import MgxDCGANDiscriminator, MgxDCGANGenerator, init_dcgan_weights

LOSSES = ("bce", "hinge")
_MGX_DEFAULTS = dict(latent_dim=100, image_size=32, channels=3, base_channels=64)


def _component(cfg: Any, name: str, expected: tuple[str, ...], who: str) -> nn.Module:
    if not isinstance(cfg, dict) or cfg.get("type") not in expected:
        wanted = expected[0] if len(expected) == 1 else f"one of {expected}"
        raise ConfigError(f"{who}: {name} must be dict(type={wanted!r}, ...) (MMagic's form), got {cfg!r}")
    return build(cfg, "model")


class DCGAN(nn.Module):
    """Unconditional DCGAN trained on ``batch['inputs']`` (uint8 images from PackInputs).

    Each ``train_step`` makes ``disc_steps`` discriminator updates, then
    ``gen_steps`` generator updates, with optimizers named ``discriminator`` and
    ``generator``. ``loss='bce'`` is the non-saturating GAN loss (MMagic's DCGAN
    loss); ``'hinge'`` the hinge loss.

    MMagic's form: ``generator``/``discriminator`` are component configs,
    ``noise_size`` (default: the generator's) is passed to the generator,
    ``data_preprocessor`` (default ``dict(type='DataPreprocessor')``: [0, 255] ->
    [-1, 1]) maps real images to the discriminator's range and generated ones
    back; ``generator_steps`` is ``gen_steps``; ``discriminator_steps=k`` is MMagic's
    schedule: one discriminator update per iteration and the generator phase every k-th
    (MMagic's configs multiply ``max_iters`` by k for it), while mgx's ``disc_steps=k``
    makes k discriminator updates within each iteration.
    ``ema_config`` and ``loss_config`` are MMagic arguments mgx takes elsewhere
    (top-level ``ema_config``) or not at all; only their default ``None`` is accepted.

    MMagic's other unconditional GANs (LSGAN, GGAN, WGANGP) are subclasses: they name
    their network types (``GENERATOR_TYPES``/``DISCRIMINATOR_TYPES``), have only
    MMagic's form, and define their losses (``_disc_loss_terms``, ``_gen_loss``).
    """

    GENERATOR_TYPES: tuple[str, ...] = ("DCGANGenerator",)
    DISCRIMINATOR_TYPES: tuple[str, ...] = ("DCGANDiscriminator",)
    MGX_FORM = True  # DCGAN(latent_dim=..., ...) builds mgx's own networks

    def __init__(self, latent_dim: int | None = None, image_size: int | None = None, channels: int | None = None,
                 base_channels: int | None = None, disc_steps: int = 1, gen_steps: int = 1, loss: str = "bce",
                 generator: dict | None = None, discriminator: dict | None = None,
                 data_preprocessor: dict | None = None, noise_size: int | None = None,
                 generator_steps: int | None = None, discriminator_steps: int | None = None,
                 ema_config: dict | None = None, loss_config: dict | None = None) -> None:
        super().__init__()
        if loss not in LOSSES:
            raise ConfigError(f"DCGAN: loss must be one of {LOSSES}, got {loss!r}")
        if ema_config is not None:
            raise ConfigError("DCGAN: model.ema_config is MMagic's place for EMA; in mgx set the top-level "
                              "ema_config=dict(momentum=..., interval=...) (docs/models.md)")
        self._check_loss_config(loss_config)
        gen_steps = gen_steps if generator_steps is None else generator_steps
        for name, value in (("disc_steps", disc_steps), ("gen_steps", gen_steps),
                            ("discriminator_steps", 1 if discriminator_steps is None else discriminator_steps)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"DCGAN: {name} must be a positive int, got {value!r}")
        if discriminator_steps not in (None, 1) and disc_steps != 1:
            raise ConfigError("DCGAN: give disc_steps (discriminator updates per iteration) or MMagic's "
                              "discriminator_steps (a generator phase every this many iterations), not both")
        self.disc_steps, self.gen_steps, self.loss = disc_steps, gen_steps, loss
        # MMagic's schedule: one discriminator update per iteration, the generator's every
        # `discriminator_steps`-th; its iteration count is state, so that --resume keeps the phase
        self.discriminator_steps = discriminator_steps or 1
        if self.discriminator_steps > 1:
            self.register_buffer("train_iter", torch.zeros((), dtype=torch.long))
        mgx_args = dict(latent_dim=latent_dim, image_size=image_size, channels=channels, base_channels=base_channels)
        if generator is None and discriminator is None and self.MGX_FORM:
            self._build_mgx_form(**{key: _MGX_DEFAULTS[key] if value is None else value
                                    for key, value in mgx_args.items()}, noise_size=noise_size,
                                 data_preprocessor=data_preprocessor)
        else:
            given = sorted(key for key, value in mgx_args.items() if value is not None)
            if given:
                raise ConfigError(f"{type(self).__name__}: {', '.join(given)} belong to DCGAN's mgx form; with "
                                  f"generator=/discriminator= (MMagic's form, the only one of LSGAN/GGAN/WGANGP) "
                                  f"set the sizes in those dicts instead")
            self._build_mmagic_form(generator, discriminator, noise_size, data_preprocessor)

    def _build_mgx_form(self, latent_dim: int, image_size: int, channels: int, base_channels: int,
                        noise_size: int | None, data_preprocessor: dict | None) -> None:
        if noise_size is not None:
            raise ConfigError("DCGAN: noise_size is MMagic's name; in mgx's form use latent_dim")
        for name, value in (("latent_dim", latent_dim), ("channels", channels), ("base_channels", base_channels)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"DCGAN: {name} must be a positive int, got {value!r}")
        self.latent_dim, self.image_size, self.channels = latent_dim, image_size, channels
        self.generator = MgxDCGANGenerator(latent_dim, image_size, channels, base_channels)
        self.discriminator = MgxDCGANDiscriminator(image_size, channels, base_channels)
        self.apply(init_dcgan_weights)
        # built after the weights are drawn, so results are the same with or without it
        self.data_preprocessor = None if data_preprocessor is None else self._preprocessor(data_preprocessor)

    def _build_mmagic_form(self, generator: Any, discriminator: Any, noise_size: int | None,
                           data_preprocessor: dict | None) -> None:
        who = type(self).__name__
        if discriminator is None or generator is None:
            raise ConfigError(f"{who}: MMagic's form needs both generator=dict(type={self.GENERATOR_TYPES[0]!r}, ...) "
                              f"and discriminator=dict(type={self.DISCRIMINATOR_TYPES[0]!r}, ...)")
        if isinstance(generator, dict) and noise_size is not None:
            if generator.get("noise_size", noise_size) != noise_size:
                raise ConfigError(f"DCGAN: noise_size={noise_size!r} but generator.noise_size="
                                  f"{generator['noise_size']!r}; give one, or the same value")
            generator = {**generator, "noise_size": noise_size}
        self.data_preprocessor = self._preprocessor(data_preprocessor or dict(type="DataPreprocessor"))
        self.generator = _component(generator, "generator", self.GENERATOR_TYPES, who)
        self.discriminator = _component(discriminator, "discriminator", self.DISCRIMINATOR_TYPES, who)
        scale, disc_scale = self.generator.output_scale, self.discriminator.input_scale
        if scale != disc_scale or self.generator.out_channels != self.discriminator.in_channels:
            raise ConfigError(f"{who}: the generator makes {self.generator.out_channels}×{scale}×{scale} images but "
                              f"the discriminator takes {self.discriminator.in_channels}×{disc_scale}×{disc_scale}; "
                              f"make generator.output_scale = discriminator.input_scale and "
                              f"generator.out_channels = discriminator.in_channels")
        self.latent_dim = self.noise_size = self.generator.noise_size
        self.image_size, self.channels = scale, self.generator.out_channels

    @staticmethod
    def _preprocessor(cfg: Any) -> nn.Module:
        if not isinstance(cfg, dict) or cfg.get("type") != "DataPreprocessor":
            raise ConfigError(f"DCGAN: data_preprocessor must be dict(type='DataPreprocessor', ...), got {cfg!r}")
        return build(cfg, "model")

    def _real_images(self, images: torch.Tensor) -> torch.Tensor:
        if self.data_preprocessor is None:
            return uint8_to_signed(images)
        return self.data_preprocessor(images)

    def _to_signed(self, generated: torch.Tensor) -> torch.Tensor:
        """Generator output -> [-1, 1] (mgx's ``sample`` range) through the preprocessor's inverse."""
        if self.data_preprocessor is None:
            return generated.float()
        return self.data_preprocessor.destruct(generated) / 127.5 - 1.0

    # -- losses ------------------------------------------------------------

    def _check_loss_config(self, loss_config: dict | None) -> None:
        if loss_config is not None:
            raise ConfigError("DCGAN: model.loss_config is not supported (DCGAN has no auxiliary losses); remove it")

    def _disc_loss_terms(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        """The discriminator's loss terms (summed into ``loss_disc``) for real and generated images."""
        loss_real, loss_fake = self._disc_losses(self.discriminator(real), self.discriminator(fake))
        return {"loss_disc_real": loss_real, "loss_disc_fake": loss_fake}

    def _disc_losses(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        real_logits, fake_logits = real_logits.float(), fake_logits.float()
        if self.loss == "hinge":
            return F.relu(1.0 - real_logits).mean(), F.relu(1.0 + fake_logits).mean()
        return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits)),
                F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))

    def _gen_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        fake_logits = fake_logits.float()
        if self.loss == "hinge":
            return -fake_logits.mean()
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))

    # -- engine API --------------------------------------------------------

    def train_step(self, batch: dict, optim) -> dict[str, torch.Tensor]:
        device = module_device(self)
        real = self._real_images(batch_images(batch, "inputs", "DCGAN.train_step", device))
        num = real.shape[0]
        disc_optim, gen_optim = optim["discriminator"], optim["generator"]
        losses: dict[str, torch.Tensor] = {}
        for _ in range(self.disc_steps):
            noise = torch.randn(num, self.latent_dim, device=device)
            with disc_optim.optim_context(self.discriminator):
                with torch.no_grad():
                    fake = self.generator(noise)
                terms = self._disc_loss_terms(real, fake)
                loss_disc = sum(terms.values())
            disc_optim.update_params(loss_disc)
        losses.update(loss_disc=loss_disc.detach(), **{name: term.detach() for name, term in terms.items()})
        if self.discriminator_steps > 1:
            self.train_iter += 1
            if int(self.train_iter) % self.discriminator_steps != 0:
                return losses
        with frozen(self.discriminator):
            for _ in range(self.gen_steps):
                noise = torch.randn(num, self.latent_dim, device=device)
                with gen_optim.optim_context(self.generator):
                    loss_gen = self._gen_loss(self.discriminator(self.generator(noise)))
                gen_optim.update_params(loss_gen)
        losses["loss_gen"] = loss_gen.detach()
        return losses

    def val_step(self, batch: dict) -> dict[str, torch.Tensor]:
        """``{'fake_img': N samples, RGB float in [0, 255]}`` for the batch's size N (every ``*_img``
        output of ``val_step`` is in pixel range, as paired and Trans* metrics read them)."""
        sized = [value for value in batch.values() if isinstance(value, torch.Tensor) and value.dim() > 0] \
            if isinstance(batch, dict) else []
        if not sized:
            raise MgxError("DCGAN.val_step needs a batch with at least one tensor to take its size from")
        return {"fake_img": (self.sample(int(sized[0].shape[0])).clamp(-1, 1) + 1) * 127.5}

    @torch.no_grad()
    def sample(self, num: int | None = None, *, noise: torch.Tensor | None = None) -> torch.Tensor:
        """``num`` images N×C×H×W in [-1, 1], from ``noise`` (N×latent_dim) when given.

        Uses the module's current mode: the engine samples in eval mode.
        """
        device = module_device(self)
        if noise is None:
            if num is None or num < 1:
                raise MgxError(f"DCGAN.sample needs num ≥ 1 or noise, got num={num!r}")
            noise = torch.randn(num, self.latent_dim, device=device)
        else:
            noise = noise.to(device=device, dtype=torch.float32)
            if noise.dim() < 2 or noise[0].numel() != self.latent_dim:
                raise MgxError(f"DCGAN.sample: noise must be N×{self.latent_dim}, got {tuple(noise.shape)}")
            if num is not None and num != noise.shape[0]:
                raise MgxError(f"DCGAN.sample: num={num} but noise holds {noise.shape[0]} vectors")
        return self._to_signed(self.generator(noise.reshape(noise.shape[0], self.latent_dim))).clamp_(-1.0, 1.0)

    # -- checkpoints -----------------------------------------------------------------------

    def adapt_loaded_weights(self, weights: dict) -> dict:
        """Weights for ``load_from``: an MMagic DCGAN checkpoint's keys are mgx's (see ``checkpoint.py``)."""
        return convert_mmagic_state_dict(weights)

