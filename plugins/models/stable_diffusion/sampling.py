"""The denoising loop of the diffusion models whose noise prediction changes along the way or needs
more than the UNet's conditioning (ViCo's reference image, FastComposer's switch from the text prompt
to the subject-augmented one): seeded latents, the scheduler's steps, the VAE's decoding."""
from __future__ import annotations

import copy
import inspect
from typing import Any, Callable

import torch


@torch.no_grad()
def denoise(model: Any, scheduler: Any, count: int, seed: int, steps: int,
            predict: Callable[[int, Any, torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """``count`` images in [-1, 1] (N×3×H×W) of Stable Diffusion ``model``: latents drawn by a generator
    seeded with ``seed`` (no global random state), then for each of ``steps`` timesteps of a copy of
    ``scheduler`` the prediction ``predict(index, timestep, scaled latents)`` (guidance included)."""
    scheduler = copy.deepcopy(scheduler)
    scheduler.set_timesteps(steps, device=model.device)
    size = model.image_size // model.vae_scale_factor
    generator = torch.Generator().manual_seed(int(seed))
    latents = torch.randn(count, model.vae.config.latent_channels, size, size, generator=generator)
    latents = latents.to(model.device) * scheduler.init_noise_sigma
    # a stochastic scheduler (DDPM) draws its step noise from the same generator
    options = {"generator": generator} if "generator" in inspect.signature(scheduler.step).parameters else {}
    for index, step in enumerate(scheduler.timesteps):
        predicted = predict(index, step, scheduler.scale_model_input(latents, step))
        latents = scheduler.step(predicted.float(), step, latents, **options).prev_sample
    dtype = next(model.vae.parameters()).dtype
    return model.vae.decode((latents / model.scaling_factor).to(dtype)).sample.float().clamp(-1, 1)
