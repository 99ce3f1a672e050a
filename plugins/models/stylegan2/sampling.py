"""What evaluation sees of a StyleGAN2 generator (``sample_model='orig'|'ema'``).

``sample`` draws injected noise per sample from a seed derived from that sample's
latent, so a sample is the same image on any number of processes and in any batch;
``mapping``/``synthesis`` use the generator's fixed noise buffers by default, so the
two images of a PPL pair, and EQ's transformed renders, share their noise.
"""
from __future__ import annotations

import hashlib

import torch

from mgx.core.errors import MgxError


def latent_seeds(latents: torch.Tensor) -> list[int]:
    rows = latents.detach().float().cpu().contiguous().numpy()
    return [int.from_bytes(hashlib.blake2b(row.tobytes(), digest_size=8).digest(), "little") % (2 ** 63)
            for row in rows]


def noise_for_latents(generator, latents: torch.Tensor) -> list[torch.Tensor]:
    """Per-sample injected noise (N×1×h×w per layer), a function of each sample's latent."""
    maps: list[list[torch.Tensor]] = [[] for _ in generator.noise_shapes()]
    for seed in latent_seeds(latents):
        rng = torch.Generator().manual_seed(seed)
        for index, (h, w) in enumerate(generator.noise_shapes()):
            maps[index].append(torch.randn(1, 1, h, w, generator=rng))
    device = latents.device
    return [torch.cat(per_layer).to(device) for per_layer in maps]


def cached_mean_latent(generator) -> torch.Tensor:
    """Mean W of the generator's current weights (recomputed when the mapping network changes)."""
    params = list(generator.style_mapping.parameters())
    key = tuple((p.data_ptr(), p._version) for p in params)
    cached = getattr(generator, "_mgx_mean_latent", None)
    if cached is None or cached[0] != key:
        cached = (key, generator.get_mean_latent())
        generator._mgx_mean_latent = cached
    return cached[1]


class GeneratorView:
    """Sampling API over one generator (the trained one or its moving average)."""

    def __init__(self, generator) -> None:
        self.generator = generator
        self.latent_dim = generator.noise_size
        self.style_channels = generator.style_channels

    def _device(self) -> torch.device:
        return self.generator.device

    def mapping(self, z: torch.Tensor) -> torch.Tensor:
        """Gaussian latents N×latent_dim -> W (N×style_channels)."""
        return self.generator.style_mapping(z.to(self._device()))

    def synthesis(self, w: torch.Tensor, noise: list | str | None = None, transform=None,
                  truncation: float = 1.0, truncation_latent: torch.Tensor | None = None) -> torch.Tensor:
        """W (N×C, or N×num_latents×C) -> images in [-1, 1].

        ``noise``: None -> the generator's fixed noise maps (shared by every image),
        'random' -> per-sample noise derived from w, or a list of per-layer tensors.
        ``transform``: 3×3 input transform (see ``ConstantInput``)."""
        gen = self.generator
        w = w.to(self._device())
        if truncation < 1:
            mean = cached_mean_latent(gen) if truncation_latent is None else truncation_latent.to(w)
            w = mean + truncation * (w - mean)
        latent = gen.broadcast_latent([w], None)
        if noise is None:
            noise = gen.fixed_noise()
        elif isinstance(noise, str):
            if noise != "random":
                raise MgxError(f"synthesis: noise must be None, 'random' or a list of tensors, got {noise!r}")
            noise = noise_for_latents(gen, w.flatten(1))
        return gen.synthesis(latent, noise, transform=transform).clamp(-1.0, 1.0)

    def sample(self, num: int | None = None, *, noise: torch.Tensor | None = None, truncation: float = 1.0,
               truncation_latent: torch.Tensor | None = None, randomize_noise: bool = True,
               injected_noise: list | None = None) -> torch.Tensor:
        """``num`` images N×C×H×W in [-1, 1] from latents ``noise`` (N×latent_dim; drawn when None).

        ``truncation`` < 1 pulls W toward ``truncation_latent`` (default: mean W of 4096
        fixed-seed latents); 0 gives the mean-W image. ``randomize_noise=False`` uses the
        fixed noise maps."""
        device = self._device()
        if noise is None:
            if num is None or num < 1:
                raise MgxError(f"StyleGAN2.sample needs num ≥ 1 or noise, got num={num!r}")
            noise = torch.randn(num, self.latent_dim)
        noise = noise.to(device=device, dtype=torch.float32)
        if noise.dim() != 2 or noise.shape[1] != self.latent_dim:
            raise MgxError(f"StyleGAN2.sample: noise must be N×{self.latent_dim}, got {tuple(noise.shape)}")
        if num is not None and num != noise.shape[0]:
            raise MgxError(f"StyleGAN2.sample: num={num} but noise holds {noise.shape[0]} vectors")
        if injected_noise is None:
            injected_noise = noise_for_latents(self.generator, noise) if randomize_noise else None
        return self.synthesis(self.mapping(noise), noise=injected_noise, truncation=truncation,
                              truncation_latent=truncation_latent).float()
