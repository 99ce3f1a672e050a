"""``StyleGAN3``: MMagic 1.2.0's model. Training is StyleGAN2's step (logistic loss, lazy R1,
path-length regularisation, EMA; see ``stylegan2/model.py``) with StyleGAN3's generator: no style
mixing or injected noise, and in the discriminator phase the generator updates its running
statistics (``w_avg``, each layer's ``magnitude_ema``) as MMagic's ``forward_kwargs`` say.

Evaluation adds the input-transform hook the Equivariance metric turns:
``synthesis(w, transform=M)`` renders with ``synthesis.input.transform = M``.
"""
from __future__ import annotations

import torch

from mgx.core.errors import ConfigError, MgxError

from ..stylegan2.ada import ADAStyleGAN2Discriminator
from ..stylegan2.checkpoint import network_weights
from ..stylegan2.discriminator import StyleGAN2Discriminator
from ..stylegan2.model import DISCRIMINATOR_TYPES, StyleGAN2
from .generator import StyleGANv3Generator

GENERATOR_TYPES = ("StyleGANv3Generator", "StyleGAN3Generator")
_FORWARD_DEFAULTS = {"disc": dict(update_emas=True, force_fp32=False), "gen": dict(force_fp32=False)}


def _build(cfg, types: tuple[str, ...], cls, what: str):
    if not isinstance(cfg, dict):
        return cfg
    cfg = dict(cfg)
    kind = cfg.pop("type", types[0])
    if kind not in types:
        raise ConfigError(f"StyleGAN3: {what}.type must be one of {types}, got {kind!r}")
    return (ADAStyleGAN2Discriminator if kind == "ADAStyleGAN2Discriminator" else cls)(**cfg)


class StyleGAN3(StyleGAN2):
    def __init__(self, generator: dict, discriminator: dict | None = None, data_preprocessor: dict | None = None,
                 generator_steps: int = 1, discriminator_steps: int = 1, forward_kwargs: dict | None = None,
                 ema_config: dict | None = None, loss_config: dict | None = None) -> None:
        if discriminator is None:
            raise ConfigError("StyleGAN3: discriminator=dict(type='StyleGAN2Discriminator', in_size=...) is needed")
        super().__init__(_build(generator, GENERATOR_TYPES, StyleGANv3Generator, "generator"),
                         _build(discriminator, DISCRIMINATOR_TYPES, StyleGAN2Discriminator, "discriminator"),
                         data_preprocessor, generator_steps, discriminator_steps, ema_config, loss_config)
        forward_kwargs = dict(forward_kwargs or {})
        unknown = sorted(set(forward_kwargs) - set(_FORWARD_DEFAULTS))
        if unknown:
            raise ConfigError(f"StyleGAN3: forward_kwargs keys must be 'disc'/'gen', got {unknown}")
        self.forward_kwargs = {phase: dict(forward_kwargs.get(phase, default))
                               for phase, default in _FORWARD_DEFAULTS.items()}

    def _generate(self, styles, inject, noise, phase: str, return_latents: bool = False):
        kwargs = self.forward_kwargs[phase]
        return self.generator(styles[0], update_emas=bool(kwargs.get("update_emas", False)),
                              return_latents=return_latents)

    def sampling_model(self, sample_model: str = "ema") -> "StyleGAN3View":
        if sample_model not in ("ema", "orig"):
            raise ConfigError(f"StyleGAN3: sample_model must be 'ema' or 'orig', got {sample_model!r}")
        if sample_model == "ema" and self.generator_ema is not None:
            return StyleGAN3View(self.generator_ema.module)
        return StyleGAN3View(getattr(self.generator, "module", self.generator))

    def adapt_loaded_weights(self, weights: dict) -> dict:
        """MMagic's StyleGAN3 generator keys are this model's; its StyleGAN2 discriminator's are mapped by
        StyleGAN2's rules; what its checkpoints lack (train_iter, the path-length mean, EMA steps, the
        run's seed) keeps this model's starting value."""
        own = self.state_dict()
        disc = {key[len("discriminator."):]: value for key, value in weights.items()
                if key.startswith("discriminator.")}
        adapted = {key: value for key, value in weights.items()
                   if not key.startswith(("data_preprocessor.", "discriminator."))}
        adapted.update({"discriminator." + key: value for key, value in network_weights(disc, "discriminator").items()})
        for key in ("noise_seed", "train_iter", "mean_path_length", "generator_ema.steps"):
            if key in own and key not in adapted:
                adapted[key] = own[key].clone()
        if self.generator_ema is not None and not any(k.startswith("generator_ema.module.") for k in adapted):
            for key, value in list(adapted.items()):
                if key.startswith("generator."):
                    adapted["generator_ema.module." + key[len("generator."):]] = value.clone()
        return adapted


class StyleGAN3View:
    """Sampling API over one StyleGAN3 generator (trained or averaged); images in [-1, 1]."""

    def __init__(self, generator: StyleGANv3Generator) -> None:
        self.generator = generator
        self.latent_dim, self.style_channels = generator.noise_size, generator.style_channels

    def _device(self) -> torch.device:
        return self.generator.synthesis.input.freqs.device

    def mapping(self, z: torch.Tensor) -> torch.Tensor:
        """z (N×latent_dim) → ws (N×num_ws×style_channels)."""
        return self.generator.style_mapping(z.to(self._device()))

    def synthesis(self, w: torch.Tensor, noise=None, transform: torch.Tensor | None = None,
                  truncation: float = 1.0, truncation_latent: torch.Tensor | None = None) -> torch.Tensor:
        """ws → images; ``transform`` (3×3, output → input coordinates) is applied for this call only."""
        gen = self.generator
        w = w.to(self._device())
        if w.dim() == 2:
            w = w.unsqueeze(1).repeat(1, gen.num_ws, 1)
        if truncation < 1:
            mean = gen.style_mapping.w_avg if truncation_latent is None else truncation_latent.to(w)
            w = mean + truncation * (w - mean)
        holder = gen.synthesis.input.transform
        saved = holder.clone()
        try:
            if transform is not None:
                holder.copy_(transform.to(holder))
            image = gen.synthesis(w)
        finally:
            holder.copy_(saved)
        if gen.rgb2bgr:
            image = image[:, [2, 1, 0]]
        return image.clamp(-1.0, 1.0)

    def sample(self, num: int | None = None, *, noise: torch.Tensor | None = None, truncation: float = 1.0,
               truncation_latent: torch.Tensor | None = None, **unused) -> torch.Tensor:
        if noise is None:
            if num is None or num < 1:
                raise MgxError(f"StyleGAN3.sample needs num >= 1 or noise, got num={num!r}")
            noise = torch.randn(num, self.latent_dim)
        noise = noise.to(device=self._device(), dtype=torch.float32)
        if noise.dim() != 2 or noise.shape[1] != self.latent_dim:
            raise MgxError(f"StyleGAN3.sample: noise must be N×{self.latent_dim}, got {tuple(noise.shape)}")
        return self.synthesis(self.mapping(noise), truncation=truncation,
                              truncation_latent=truncation_latent).float()
