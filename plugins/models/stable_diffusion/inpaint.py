"""MMagic's ``StableDiffusionInpaint`` (Stable Diffusion's arguments): an inpainting UNet (9 input
channels) reads the noisy latents, the mask at latent size and the VAE latents of the masked image
side by side and fills the masked region (mask 1 = repaint) to match the prompt. Inference only, as in
MMagic: mgx's ``val_images``/``val_masks`` (paths: one for all prompts, or one per prompt; the mask
defaults to the centre square of half the image's side) make the sample grids.
"""
from __future__ import annotations

from typing import Any

import torch
from torch.nn import functional as F

from mgx.core.errors import ConfigError, MgxError

from .images import load_images
from .model import StableDiffusion


def centre_mask(size: int) -> torch.Tensor:
    mask = torch.zeros(1, 1, size, size)
    mask[..., size // 4:size - size // 4, size // 4:size - size // 4] = 1
    return mask


def _per_prompt(paths: Any, count: int, field: str) -> list:
    paths = [paths] if isinstance(paths, str) else list(paths or [])
    if paths and len(paths) not in (1, count):
        raise ConfigError(f"StableDiffusionInpaint: {field} has {len(paths)} images for {count} val_prompts; give "
                          f"one, or one per prompt")
    return paths * (count if len(paths) == 1 else 1)


class StableDiffusionInpaint(StableDiffusion):
    def __init__(self, *args: Any, val_images: Any = None, val_masks: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.val_images = _per_prompt(val_images, len(self.val_prompts), "val_images")
        self.val_masks = _per_prompt(val_masks, len(self.val_prompts), "val_masks")
        if self.val_prompts and not self.val_images:
            raise ConfigError("StableDiffusionInpaint: val_prompts need val_images (the image each prompt repaints)")

    def unet_input_channels(self) -> int:
        return 2 * self.vae.config.latent_channels + 1

    def predict_noise(self, latents: torch.Tensor, steps: Any, condition: dict[str, Any]) -> torch.Tensor:
        condition = dict(condition)
        mask, masked = condition.pop("inpaint_mask"), condition.pop("masked_image_latents")
        return self.unet(torch.cat([latents, mask.to(latents), masked.to(latents)], dim=1), steps, **condition).sample

    def train_step(self, batch: dict, optim: Any) -> dict:
        raise MgxError("StableDiffusionInpaint is for inference (`mgx run test CFG`), as in MMagic")

    def inpaint(self, prompts: list[str], image: torch.Tensor, mask: torch.Tensor, *, seed: int,
                num_images_per_prompt: int = 1) -> torch.Tensor:
        """Images for ``prompts`` repainting ``mask`` (1×1×H×W, 1 = repaint) of ``image`` (1×3×H×W, [-1, 1])."""
        mask = (mask.to(self.device) >= 0.5).float()
        masked = image.to(self.device) * (1 - mask)
        generator = torch.Generator(self.device).manual_seed(int(seed))
        masked_latents = self.encode_images(masked, generator)
        latent_mask = F.interpolate(mask, size=masked_latents.shape[-2:])
        count = len(prompts)
        extra = {"inpaint_mask": latent_mask.repeat(count, 1, 1, 1),
                 "masked_image_latents": masked_latents.repeat(count, 1, 1, 1)}
        return self.infer(prompts, seed=seed, num_images_per_prompt=num_images_per_prompt, extra_condition=extra)

    def prompt_grids(self, seed: int) -> dict[str, torch.Tensor]:
        size = self.image_size
        images = load_images(self.val_images, size, "StableDiffusionInpaint") * 2 - 1
        masks = load_images(self.val_masks, size, "StableDiffusionInpaint")[:, :1] if self.val_masks else None
        return {prompt: self.inpaint([prompt], images[index:index + 1],
                                     masks[index:index + 1] if masks is not None else centre_mask(size),
                                     seed=seed + index, num_images_per_prompt=self.num_images_per_prompt)
                for index, prompt in enumerate(self.val_prompts)}

    def pipeline_parts(self) -> tuple[str, dict[str, Any]]:
        _, parts = super().pipeline_parts()
        return "StableDiffusionInpaintPipeline", parts
