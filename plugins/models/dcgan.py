"""DCGAN (Radford et al. 2016): transposed-conv generator, strided-conv discriminator.

The engine DDP-wraps each trainable direct child, so the step path only ever
calls ``self.generator(z)`` and ``self.discriminator(x)``.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError, MgxError

from .common import batch_images, module_device, uint8_to_signed

LOSSES = ("bce", "hinge")


def _stages(image_size: int) -> int:
    """Number of ×2 up/down-sampling stages between 4×4 and ``image_size``."""
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 8 \
            or 2 ** round(math.log2(image_size)) != image_size:
        raise ConfigError(f"DCGAN: image_size must be a power of two ≥ 8 (e.g. 32, 64), got {image_size!r}")
    return int(math.log2(image_size)) - 2


def _init_dcgan_weights(module: nn.Module) -> None:
    # The DCGAN paper's initialisation: N(0, 0.02) convs, N(1, 0.02) BatchNorm scales.
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DCGANGenerator(nn.Module):
    """z (N×latent_dim) -> image N×channels×S×S in [-1, 1]."""

    def __init__(self, latent_dim: int, image_size: int, channels: int, base_channels: int) -> None:
        super().__init__()
        stages = _stages(image_size)
        width = base_channels * 2 ** (stages - 1)
        layers: list[nn.Module] = [nn.ConvTranspose2d(latent_dim, width, 4, 1, 0, bias=False),
                                   nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
        for _ in range(stages - 1):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(width // 2), nn.ReLU(inplace=True)]
            width //= 2
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.latent_dim = latent_dim

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.reshape(z.shape[0], self.latent_dim, 1, 1))


class DCGANDiscriminator(nn.Module):
    """image N×channels×S×S in [-1, 1] -> one real/fake logit per image (N,)."""

    def __init__(self, image_size: int, channels: int, base_channels: int) -> None:
        super().__init__()
        stages = _stages(image_size)
        layers: list[nn.Module] = [nn.Conv2d(channels, base_channels, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        width = base_channels
        for _ in range(stages - 1):
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width * 2),
                       nn.LeakyReLU(0.2, inplace=True)]
            width *= 2
        layers += [nn.Conv2d(width, 1, 4, 1, 0)]
        self.net = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images).reshape(images.shape[0])


class DCGAN(nn.Module):
    """Unconditional DCGAN trained on ``batch['inputs']`` (uint8 images from PackInputs).

    Each ``train_step`` makes ``disc_steps`` discriminator updates, then
    ``gen_steps`` generator updates, with optimizers named ``discriminator`` and
    ``generator``. ``loss='bce'`` is the non-saturating GAN loss; ``'hinge'``
    the hinge loss.
    """

    def __init__(self, latent_dim: int = 100, image_size: int = 32, channels: int = 3, base_channels: int = 64,
                 disc_steps: int = 1, gen_steps: int = 1, loss: str = "bce") -> None:
        super().__init__()
        if loss not in LOSSES:
            raise ConfigError(f"DCGAN: loss must be one of {LOSSES}, got {loss!r}")
        for name, value in (("latent_dim", latent_dim), ("channels", channels), ("base_channels", base_channels),
                            ("disc_steps", disc_steps), ("gen_steps", gen_steps)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"DCGAN: {name} must be a positive int, got {value!r}")
        self.latent_dim, self.image_size, self.channels = latent_dim, image_size, channels
        self.disc_steps, self.gen_steps, self.loss = disc_steps, gen_steps, loss
        self.generator = DCGANGenerator(latent_dim, image_size, channels, base_channels)
        self.discriminator = DCGANDiscriminator(image_size, channels, base_channels)
        self.apply(_init_dcgan_weights)

    # -- losses ------------------------------------------------------------

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

    def _set_disc_trainable(self, flag: bool) -> None:
        # Frozen during the generator update so its gradients do not leak into
        # the discriminator's next step (and DDP sees no hook fire for it).
        for parameter in self.discriminator.parameters():
            parameter.requires_grad_(flag)

    # -- engine API --------------------------------------------------------

    def train_step(self, batch: dict, optim) -> dict[str, torch.Tensor]:
        device = module_device(self)
        real = uint8_to_signed(batch_images(batch, "inputs", "DCGAN.train_step", device))
        num = real.shape[0]
        disc_optim, gen_optim = optim["discriminator"], optim["generator"]
        losses: dict[str, torch.Tensor] = {}
        for _ in range(self.disc_steps):
            noise = torch.randn(num, self.latent_dim, device=device)
            with disc_optim.optim_context(self.discriminator):
                with torch.no_grad():
                    fake = self.generator(noise)
                loss_real, loss_fake = self._disc_losses(self.discriminator(real), self.discriminator(fake))
                loss_disc = loss_real + loss_fake
            disc_optim.update_params(loss_disc)
        losses.update(loss_disc=loss_disc.detach(), loss_disc_real=loss_real.detach(), loss_disc_fake=loss_fake.detach())
        self._set_disc_trainable(False)
        try:
            for _ in range(self.gen_steps):
                noise = torch.randn(num, self.latent_dim, device=device)
                with gen_optim.optim_context(self.generator):
                    loss_gen = self._gen_loss(self.discriminator(self.generator(noise)))
                gen_optim.update_params(loss_gen)
        finally:
            self._set_disc_trainable(True)
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
        return self.generator(noise.reshape(noise.shape[0], self.latent_dim)).float().clamp_(-1.0, 1.0)
