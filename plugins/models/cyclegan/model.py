"""``CycleGAN`` (Zhu et al. 2017): unpaired translation between two domains, as MMagic 1.2.0 trains it.

Each iteration, for each reachable domain ``t`` (source ``s``, the other one): ``fake_t = G_t(real_s)``
and ``cycle_s = G_s(fake_t)``. Discriminators (LSGAN loss):
``Σ_t 0.5 · (MSE(D_t(pool_t(fake_t)), 0) + MSE(D_t(real_t), 1))``, ``pool_t`` a history of up to
``buffer_size`` generated images (:class:`GANImageBuffer`). Generators:
``Σ_t MSE(D_t(fake_t), 1) + cycle_loss_weight · Σ_s L1(cycle_s, real_s)
+ id_loss_weight · Σ_t L1(G_t(real_t), real_t)`` (the identity term only when its weight is not 0).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError

from ..base_models import BaseTranslationModel
from ..common import frozen

_LOSS_DEFAULTS = dict(cycle_loss_weight=10.0, id_loss_weight=0.5)


class GANImageBuffer(nn.Module):
    """MMagic's image pool: the first ``buffer_size`` images are stored and returned as they are;
    after that each image is, with probability ``buffer_ratio``, swapped for a random stored one.

    The stored images are a buffer (``images``), so checkpoints carry them and ``--resume`` continues
    with the same history; the draws use numpy's global generator, as MMagic's do (the engine
    checkpoints and restores it).
    """

    def __init__(self, buffer_size: int, buffer_ratio: float = 0.5) -> None:
        super().__init__()
        if isinstance(buffer_size, bool) or not isinstance(buffer_size, int) or buffer_size < 0:
            raise ConfigError(f"CycleGAN: buffer_size must be an int ≥ 0, got {buffer_size!r}")
        self.buffer_size, self.buffer_ratio = buffer_size, float(buffer_ratio)
        self.register_buffer("images", torch.zeros(0))

    @property
    def stored(self) -> int:
        return 0 if self.images.dim() < 4 else len(self.images)

    @torch.no_grad()
    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.buffer_size == 0:
            return images
        returned = []
        for image in images.detach():
            if self.stored < self.buffer_size:
                self.images = image[None].clone() if self.stored == 0 else torch.cat([self.images, image[None]])
                returned.append(image)
            elif np.random.random() < self.buffer_ratio:
                slot = np.random.randint(0, self.buffer_size)
                returned.append(self.images[slot].clone())
                self.images[slot] = image
            else:
                returned.append(image)
        return torch.stack(returned)


class CycleGAN(BaseTranslationModel):
    GENERATOR_TYPES = ("ResnetGenerator", "UnetGenerator")
    DISCRIMINATOR_TYPES = ("PatchDiscriminator",)

    def __init__(self, *args, buffer_size: int = 50, loss_config: dict | None = None, **kwargs) -> None:
        super().__init__(*args, loss_config=loss_config, **kwargs)
        # MMagic's default is the whole dict: a loss_config given without a key leaves that term undefined
        self.loss_config = dict(_LOSS_DEFAULTS) if loss_config is None else dict(loss_config)
        missing = sorted(set(_LOSS_DEFAULTS) - set(self.loss_config))
        unknown = sorted(set(self.loss_config) - set(_LOSS_DEFAULTS))
        if missing or unknown:
            raise ConfigError(f"CycleGAN: loss_config needs exactly cycle_loss_weight and id_loss_weight "
                              f"(missing {missing}, unknown {unknown})")
        if len(self._reachable_domains) != 2:
            raise ConfigError(f"CycleGAN: reachable_domains must name two domains, got {self._reachable_domains}")
        self.buffer_size = buffer_size
        self.image_buffers = nn.ModuleDict({domain: GANImageBuffer(buffer_size) for domain in self._reachable_domains})

    def _forward_cycles(self, batch: dict, with_grad: bool) -> dict[str, torch.Tensor]:
        outputs = {f"real_{domain}": self.domain_images(batch, domain) for domain in self._reachable_domains}
        with torch.set_grad_enabled(with_grad):
            for target in self._reachable_domains:
                source = self.source_of(target)
                outputs[f"fake_{target}"] = self.generators(target, outputs[f"real_{source}"])
                outputs[f"cycle_{source}"] = self.generators(source, outputs[f"fake_{target}"])
        return outputs

    def _disc_loss(self, outputs: dict) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        total, logs = 0.0, {}
        for domain in self._reachable_domains:
            fake = self.image_buffers[domain].query(outputs[f"fake_{domain}"])
            fake_logits = self.discriminators(domain, fake.detach()).float()
            real_logits = self.discriminators(domain, outputs[f"real_{domain}"]).float()
            loss = 0.5 * (F.mse_loss(fake_logits, torch.zeros_like(fake_logits))
                          + F.mse_loss(real_logits, torch.ones_like(real_logits)))
            total = total + loss
            logs[f"loss_gan_d_{domain}"] = loss.detach()
        return total, logs

    def _gen_loss(self, outputs: dict) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        losses: dict[str, torch.Tensor] = {}
        id_weight = float(self.loss_config["id_loss_weight"])
        cycle_weight = float(self.loss_config["cycle_loss_weight"])
        cycle, identity = 0.0, 0.0
        for domain in self._reachable_domains:
            real = outputs[f"real_{domain}"]
            # MMagic computes the identity images whatever the weight (it shapes DDP's graph alike)
            identity_images = self.generators(domain, real)
            fake_logits = self.discriminators(domain, outputs[f"fake_{domain}"]).float()
            losses[f"loss_gan_g_{domain}"] = F.mse_loss(fake_logits, torch.ones_like(fake_logits))
            cycle = cycle + cycle_weight * F.l1_loss(outputs[f"cycle_{domain}"].float(), real.float())
            identity = identity + id_weight * F.l1_loss(identity_images.float(), real.float())
        losses["cycle_loss"] = cycle
        if id_weight != 0.0:
            losses["id_loss"] = identity
        return sum(losses.values()), {key: value.detach() for key, value in losses.items()}

    def train_step(self, batch: dict, optim) -> dict[str, torch.Tensor]:
        generator_phase = self.generator_phase_due(optim)
        disc_optim, gen_optim = optim["discriminators"], optim["generators"]
        with disc_optim.optim_context(self.discriminators):
            outputs = self._forward_cycles(batch, with_grad=generator_phase)
            loss_disc, logs = self._disc_loss(outputs)
        disc_optim.update_params(loss_disc)
        if not generator_phase:
            return logs
        with frozen(self.discriminators):
            with gen_optim.optim_context(self.generators):
                loss_gen, gen_logs = self._gen_loss(outputs)
            gen_optim.update_params(loss_gen)
        logs.update(gen_logs)
        return logs

    def val_step(self, batch: dict) -> dict[str, torch.Tensor]:
        """``fake_{t}`` for both domains: each domain's images translated to the other, in [0, 255]."""
        outputs = {}
        for source in self._reachable_domains:
            target = self.source_of(source)
            translated = self.translate_for_test(self.domain_images(batch, source), target)
            outputs[f"fake_{target}"] = self.to_pixels(translated)
        return outputs

    def grid_columns(self, batch: dict, outputs: dict) -> list[torch.Tensor]:
        """Sample-grid columns: domain A, A translated to B, domain B, B translated to A (in [0, 255])."""
        first, second = self._reachable_domains
        return [self.to_pixels(self.domain_images(batch, first)), outputs[f"fake_{second}"],
                self.to_pixels(self.domain_images(batch, second)), outputs[f"fake_{first}"]]

    def adapt_loaded_weights(self, weights: dict) -> dict:
        """MMagic checkpoints hold the networks under the same keys and no image pools (MMagic keeps them
        out of the state dict): the pools start empty. An mgx checkpoint's pools are taken as saved."""
        weights = {key: value for key, value in weights.items() if not key.startswith("data_preprocessor.")}
        for domain, pool in self.image_buffers.items():
            key = f"image_buffers.{domain}.images"
            if key in weights:
                pool.images = torch.empty_like(weights[key], device=pool.images.device)
            else:
                weights[key] = pool.images.detach().clone()
        return weights


__all__ = ["CycleGAN", "GANImageBuffer"]
