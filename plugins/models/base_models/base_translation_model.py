"""MMagic's ``BaseTranslationModel`` contract, shared by Pix2Pix and CycleGAN.

One generator (and discriminator) per reachable domain, held in ``generators`` /
``discriminators`` (state-dict keys ``generators.<domain>.…`` as MMagic's; the optimizers of
MMagic's configs are named after these two). Both are :class:`DomainNetworks`, a ModuleDict that is
also callable as ``networks(domain, x)``, so the engine's DDP wrapper around each can be called the
same way. Images come from ``batch['inputs'][f'img_{domain}']`` (PackInputs with several keys) or
``batch[f'img_{domain}']``; translated images are returned as ``fake_{domain}`` in [0, 255].
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from mgx.core.errors import ConfigError, MgxError
from mgx.core.registry import build

from ..common import module_device


class DomainNetworks(nn.ModuleDict):
    """A network per domain; ``self(domain, x)`` runs the domain's one."""

    def forward(self, domain: str, x: torch.Tensor) -> torch.Tensor:
        return self[domain](x)


def _domains(value: Any, name: str, who: str) -> list[str]:
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(d, str) and d for d in value):
        raise ConfigError(f"{who}: {name} must be a non-empty list of domain names, got {value!r} (MMagic's "
                          f"configs set it from domain_a/domain_b or source_domain/target_domain)")
    return list(value)


def _component(cfg: Any, types: tuple[str, ...], what: str, who: str) -> nn.Module:
    if not isinstance(cfg, dict) or cfg.get("type") not in types:
        raise ConfigError(f"{who}: {what} must be dict(type=one of {types}, ...), got {cfg!r}")
    return build(cfg, "model")


class BaseTranslationModel(nn.Module):
    """Domains, networks and the generator-phase schedule of MMagic's translation models.

    ``discriminator_steps=k``: the generators update every k-th iteration (MMagic multiplies this by
    the discriminator optimizer's ``accumulative_counts``); ``disc_init_steps=n``: not in the first n.
    With either set, the model keeps its iteration count in a ``train_iter`` buffer, so ``--resume``
    keeps the phase (the default layout has no such key, as MMagic's checkpoints).
    """

    GENERATOR_TYPES: tuple[str, ...] = ()
    DISCRIMINATOR_TYPES: tuple[str, ...] = ()

    def __init__(self, generator: dict, discriminator: dict, default_domain: str, reachable_domains: list,
                 related_domains: list, data_preprocessor: dict | None = None, discriminator_steps: int = 1,
                 disc_init_steps: int = 0, real_img_key: str = "real_img", loss_config: dict | None = None) -> None:
        super().__init__()
        who = type(self).__name__
        reachable = _domains(reachable_domains, "reachable_domains", who)
        related = _domains(related_domains, "related_domains", who)
        if default_domain not in reachable:
            raise ConfigError(f"{who}: default_domain={default_domain!r} must be one of reachable_domains {reachable}")
        if not set(reachable) <= set(related):
            raise ConfigError(f"{who}: reachable_domains {reachable} must all be in related_domains {related}")
        for name, value, low in (("discriminator_steps", discriminator_steps, 1),
                                 ("disc_init_steps", disc_init_steps, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"{who}: {name} must be an int ≥ {low}, got {value!r}")
        if loss_config is not None and not isinstance(loss_config, dict):
            raise ConfigError(f"{who}: loss_config must be a dict, got {loss_config!r}")
        self._default_domain, self._reachable_domains, self._related_domains = default_domain, reachable, related
        self.discriminator_steps, self.disc_init_steps, self.real_img_key = discriminator_steps, disc_init_steps, \
            real_img_key
        self.loss_config = dict(loss_config or {})
        preprocessor = data_preprocessor or dict(type="DataPreprocessor")
        if not isinstance(preprocessor, dict) or preprocessor.get("type") != "DataPreprocessor":
            raise ConfigError(f"{who}: data_preprocessor must be dict(type='DataPreprocessor', ...), "
                              f"got {data_preprocessor!r}")
        self.data_preprocessor = build(preprocessor, "model")
        self.generators = DomainNetworks({domain: _component(generator, self.GENERATOR_TYPES, "generator", who)
                                          for domain in reachable})
        self.discriminators = DomainNetworks({domain: _component(discriminator, self.DISCRIMINATOR_TYPES,
                                                                 "discriminator", who) for domain in reachable})
        if discriminator_steps > 1 or disc_init_steps > 0:
            self.register_buffer("train_iter", torch.zeros((), dtype=torch.long))

    # -- domains ---------------------------------------------------------------------

    def get_other_domains(self, domain: str) -> list[str]:
        return [other for other in self._related_domains if other != domain]

    def source_of(self, target: str) -> str:
        others = self.get_other_domains(target)
        if not others:
            raise ConfigError(f"{type(self).__name__}: related_domains {self._related_domains} name no source "
                              f"domain for {target!r}")
        return others[0]

    def domain_images(self, batch: dict, domain: str) -> torch.Tensor:
        """``img_{domain}`` of the batch as a normalised N×C×H×W float tensor on the model's device."""
        key = f"img_{domain}"
        inputs = batch.get("inputs") if isinstance(batch, dict) else None
        value = inputs.get(key) if isinstance(inputs, dict) else None
        if value is None and isinstance(batch, dict):
            value = batch.get(key)
        if not isinstance(value, torch.Tensor) or value.dim() != 4:
            fields = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
            nested = sorted(inputs) if isinstance(inputs, dict) else None
            raise MgxError(f"{type(self).__name__} needs the batch's {key!r} images (N×C×H×W): pack them with "
                           f"PackInputs(keys=[...{key!r}...]) after a KeyMapper that names the domains; the batch has "
                           f"{fields}" + (f", inputs has {nested}" if nested is not None else ""))
        return self.data_preprocessor(value.to(module_device(self), non_blocking=True))

    def to_pixels(self, images: torch.Tensor) -> torch.Tensor:
        """Generator output -> RGB float in [0, 255]."""
        return self.data_preprocessor.destruct(images)

    # -- schedule ----------------------------------------------------------------------

    def generator_phase_due(self, optim) -> bool:
        """Whether this iteration updates the generators (advances the iteration count)."""
        if not hasattr(self, "train_iter"):
            return True
        iteration = int(self.train_iter)
        self.train_iter += 1
        period = self.discriminator_steps * int(getattr(optim["discriminators"], "accumulative_counts", 1))
        return (iteration + 1) % period == 0 and iteration >= self.disc_init_steps

    # -- evaluation ------------------------------------------------------------------

    @torch.no_grad()
    def translate_for_test(self, images: torch.Tensor, target_domain: str) -> torch.Tensor:
        """MMagic's ``forward_test``: the generator runs in training mode (batch statistics, dropout),
        as Pix2Pix and CycleGAN were published; the module's mode is restored afterwards."""
        generator = getattr(self.generators, "module", self.generators)[target_domain]  # DDP-wrapped or not
        was_training = generator.training
        generator.train()
        try:
            return generator(images)
        finally:
            generator.train(was_training)


__all__ = ["BaseTranslationModel", "DomainNetworks"]
