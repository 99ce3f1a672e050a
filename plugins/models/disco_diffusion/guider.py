"""Disco diffusion's CLIP guidance (MMagic's ``ImageTextGuider``): the gradient, with respect to the noisy
image x_t, of the CLIP spherical distance between cutouts of a denoised estimate and the text prompts,
plus total-variation, range and saturation penalties, clamped in RMS (``clamp_max``)."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from .secondary_model import alpha_sigma_to_t

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def spherical_dist_loss(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """2·arcsin(|x̂ − ŷ| / 2)², the squared great-circle distance of the unit vectors."""
    x, y = F.normalize(x, dim=-1), F.normalize(y, dim=-1)
    return (x - y).norm(dim=-1).div(2).arcsin().pow(2).mul(2)


def tv_loss(x: torch.Tensor) -> torch.Tensor:
    """MMagic's ``tv_loss``: mean squared neighbour differences (edge-replicated), per image."""
    x = F.pad(x, (0, 1, 0, 1), "replicate")
    x_diff, y_diff = x[..., :-1, 1:] - x[..., :-1, :-1], x[..., 1:, :-1] - x[..., :-1, :-1]
    return (x_diff ** 2 + y_diff ** 2).mean([1, 2, 3])


def range_loss(x: torch.Tensor) -> torch.Tensor:
    return (x - x.clamp(-1, 1)).pow(2).mean([1, 2, 3])


def _resize(x: torch.Tensor, side: int) -> torch.Tensor:
    # MMagic resizes with resize_right (antialiased cubic); torch's antialiased bicubic is the same filter family
    return F.interpolate(x, (side, side), mode="bicubic", antialias=True, align_corners=False)


class MakeCutoutsDango(nn.Module):
    """Dango233's cutouts: ``Overview`` whole-frame views (plain, grey, flipped, grey flipped; or that many
    copies above 4) and ``InnerCrop`` random squares (side ∝ rand^``IC_Size_Pow``, the first
    ``IC_Grey_P`` share grey), all at CLIP's side, then random flips, affine jitter, greys, colour jitter."""

    def __init__(self, cut_size: int, Overview: int = 4, InnerCrop: int = 0, IC_Size_Pow: float = 0.5,
                 IC_Grey_P: float = 0.2) -> None:
        super().__init__()
        import torchvision.transforms as T

        self.cut_size, self.overview, self.inner = cut_size, Overview, InnerCrop
        self.ic_size_pow, self.ic_grey_p = IC_Size_Pow, IC_Grey_P
        self.gray = T.Grayscale(3)
        noise = T.Lambda(lambda x: x + torch.randn_like(x) * 0.01)
        self.augs = T.Compose([T.RandomHorizontalFlip(p=0.5), noise,
                               T.RandomAffine(degrees=10, translate=(0.05, 0.05),
                                              interpolation=T.InterpolationMode.BILINEAR),
                               noise, T.RandomGrayscale(p=0.1), noise,
                               T.ColorJitter(brightness=0.1, contrast=0.1, saturation=0.1, hue=0.1)])

    def forward(self, x: torch.Tensor, skip_augs: bool = False) -> torch.Tensor:
        side_y, side_x = x.shape[2:4]
        max_size, min_size = min(side_x, side_y), min(side_x, side_y, self.cut_size)
        pad_y, pad_x = (side_y - max_size) // 2, (side_x - max_size) // 2
        whole = _resize(F.pad(x, (pad_y, pad_y, pad_x, pad_x)), self.cut_size)
        if 0 < self.overview <= 4:
            flipped = whole.flip(-1)
            cutouts = [whole, self.gray(whole), flipped, self.gray(flipped)][:self.overview]
        else:
            cutouts = [whole] * self.overview
        for index in range(self.inner):
            size = int(torch.rand([]) ** self.ic_size_pow * (max_size - min_size) + min_size)
            offset_x, offset_y = int(torch.randint(0, side_x - size + 1, ())), int(torch.randint(0, side_y - size + 1, ()))
            cutout = x[:, :, offset_y:offset_y + size, offset_x:offset_x + size]
            if index <= int(self.ic_grey_p * self.inner):
                cutout = self.gray(cutout)
            cutouts.append(_resize(cutout, self.cut_size))
        cutouts = torch.cat(cutouts)
        return cutouts if skip_augs else self.augs(cutouts)


def denoised_estimate(x: torch.Tensor, t: int, alphas_cumprod: torch.Tensor, unet: Any,
                      secondary_model: Any) -> torch.Tensor:
    """x̂₀ from the secondary model (at its cosine time for ᾱ_t) when there is one, else from the UNet's ε."""
    alpha_bar = alphas_cumprod[t].to(torch.float32)
    if secondary_model is not None:
        time = alpha_sigma_to_t(alpha_bar.sqrt(), (1 - alpha_bar).sqrt()).to(x.device)
        return secondary_model(x, time[None].repeat(len(x)))["pred"]
    eps = unet(x, t)["sample"][:, :x.shape[1]]
    return (x - (1 - alpha_bar).sqrt() * eps) / alpha_bar.sqrt()


def clip_guidance(x: torch.Tensor, t: int, alphas_cumprod: torch.Tensor, unet: Any, prompts: list[dict],
                  settings: dict, secondary_model: Any = None) -> torch.Tensor:
    """MMagic's ``ImageTextGuider.cond_fn``: −∇ₓ of the guidance losses at x_t, RMS-clamped to ``clamp_max``.
    ``prompts``: per CLIP model ``{'clip', 'embeds' (P×D), 'weights' (P, summing to 1)}``."""
    with torch.inference_mode(False), torch.enable_grad():
        x = x.detach().clone().requires_grad_(True)
        pred = denoised_estimate(x, t, alphas_cumprod, unet, secondary_model)
        fac = (1 - alphas_cumprod[t].to(torch.float32)).sqrt()
        x_in = pred * fac + x * (1 - fac)
        x_in_grad = torch.zeros_like(x_in)
        step = 1000 - (int(t) + 1)  # the cut schedules are indexed by steps taken out of 1000
        overview, inner = settings["cut_overview"][step], settings["cut_innercut"][step]
        for prompt in prompts:
            # (made under inference mode by the grids' caller: copies that autograd may save)
            targets, weights = prompt["embeds"].clone(), prompt["weights"].clone()
            for _ in range(settings["cutn_batches"]):
                cuts = MakeCutoutsDango(prompt["clip"].input_resolution, Overview=overview, InnerCrop=inner,
                                        IC_Size_Pow=settings["cut_ic_pow"][step],
                                        IC_Grey_P=settings["cut_icgray_p"][step])
                mean, std = (torch.tensor(v, device=x.device)[:, None, None] for v in (CLIP_MEAN, CLIP_STD))
                embeds = prompt["clip"].encode_image((cuts(x_in.add(1).div(2)) - mean) / std).float()
                dists = spherical_dist_loss(embeds.unsqueeze(1), targets.unsqueeze(0))
                losses = dists.view(overview + inner, len(x), -1).mul(weights).sum(2).mean(0)
                x_in_grad += torch.autograd.grad(losses.sum() * settings["clip_guidance_scale"], x_in)[0] / \
                    settings["cutn_batches"]
        loss = (tv_loss(x_in).sum() * settings["tv_scale"] + range_loss(pred).sum() * settings["range_scale"]
                + (x_in - x_in.clamp(-1, 1)).abs().mean() * settings["sat_scale"])
        x_in_grad += torch.autograd.grad(loss, x_in)[0]
        if torch.isnan(x_in_grad).any():
            return torch.zeros_like(x)
        grad = -torch.autograd.grad(x_in, x, x_in_grad)[0]
    magnitude = grad.square().mean().sqrt()
    return grad * magnitude.clamp(max=settings["clamp_max"]) / magnitude
