"""The WGAN-GP gradient penalty (Gulrajani et al. 2017) with MMagic's ``gradient_penalty_loss`` conventions.

``x̂ = α·real + (1 − α)·fake`` with one ``α ~ U[0, 1)`` per sample (torch's generator), and
``E[(‖∇ₓ̂ D(x̂)‖₂ − 1)²]`` where the norm is taken over C×H×W per sample (``norm_mode='HWC'``) or over
the channels per pixel, then averaged over pixels too (``'pixel'``). With a ``mask`` the gradients are
masked first and the penalty divided by the mask's mean (MMagic's inpainting variant).
"""
from __future__ import annotations

from typing import Callable

import torch

from mgx.core.errors import ConfigError

NORM_MODES = ("pixel", "HWC")


def gradient_penalty_loss(discriminator: Callable[[torch.Tensor], torch.Tensor], real_data: torch.Tensor,
                          fake_data: torch.Tensor, mask: torch.Tensor | None = None,
                          norm_mode: str = "pixel") -> torch.Tensor:
    if norm_mode not in NORM_MODES:
        raise ConfigError(f"gradient penalty: norm_mode must be one of {NORM_MODES}, got {norm_mode!r}")
    batch_size = real_data.shape[0]
    alpha = torch.rand(batch_size, 1, 1, 1).to(real_data)
    interpolates = (alpha * real_data + (1.0 - alpha) * fake_data).detach().requires_grad_(True)
    scores = discriminator(interpolates)
    gradients = torch.autograd.grad(outputs=scores, inputs=interpolates, grad_outputs=torch.ones_like(scores),
                                    create_graph=True, retain_graph=True, only_inputs=True)[0]
    if mask is not None:
        gradients = gradients * mask
    if norm_mode == "pixel":
        penalty = ((gradients.norm(2, dim=1) - 1) ** 2).mean()
    else:
        penalty = ((gradients.reshape(batch_size, -1).norm(2, dim=1) - 1) ** 2).mean()
    if mask is not None:
        penalty = penalty / torch.mean(mask)
    return penalty


__all__ = ["NORM_MODES", "gradient_penalty_loss"]
