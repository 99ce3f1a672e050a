"""Disco Diffusion (CLIP-guided diffusion, Crowson et al.) under MMagic 1.2.0's name ``DiscoDiffusion``
(aliases ``disco``, ``dd``): an unconditional ``DenoisingUnet`` sampled with DDIM (η = 0.8 by default),
each step's ε moved by the CLIP guidance gradient (``guider.py``: cutouts of a denoised estimate — from
the ``secondary_model`` when there is one — against the text prompts' CLIP embeddings, plus range,
total-variation and saturation penalties):  ε' = ε − √(1 − ᾱ_t) · g.  The update is diffusers'
``DDIMScheduler.step`` (the ``EditDDIMScheduler`` component), on MMagic's timesteps.

Inference only, as in MMagic: the weights come from ``pretrained_cfgs`` (paths or URLs), so
``mgx run test CFG`` needs no checkpoint; it samples ``val_prompts`` (mgx's; MMagic's ``infer`` takes
``text_prompts``) with a fixed seed and logs a grid per prompt.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from mgx.core.errors import ConfigError, MgxError
from mgx.core.registry import build

from ..base_models.pretrained import load_pretrained
from ..guided_diffusion.model import mmagic_timesteps
from .clip import build_clip
from .guider import clip_guidance

# MMagic's DiscoDiffusion.infer defaults
INFER_DEFAULTS = dict(num_inference_steps=100, skip_steps=0, eta=0.8, clip_guidance_scale=5000, tv_scale=0.0,
                      sat_scale=0.0, range_scale=150, clamp_max=0.05, cut_overview=[12] * 400 + [4] * 600,
                      cut_innercut=[4] * 400 + [12] * 600, cut_ic_pow=[1] * 1000,
                      cut_icgray_p=[0.2] * 400 + [0] * 600, cutn_batches=4)


def _parse_prompt(prompt: str) -> tuple[str, float]:
    """MMagic's ``parse_prompt``: ``'text:weight'`` (weight 1 when absent)."""
    text, _, weight = prompt.rpartition(":")
    try:
        return (text, float(weight)) if text else (prompt, 1.0)
    except ValueError:
        return prompt, 1.0


class DiscoDiffusion(nn.Module):
    """MMagic's ``DiscoDiffusion(unet, diffusion_scheduler, secondary_model=None, clip_models=[],
    use_fp16=False, pretrained_cfgs=None)`` plus mgx's ``val_prompts``, ``num_images_per_prompt=1`` and
    ``infer_kwargs`` (MMagic's ``infer`` arguments: ``num_inference_steps=100``, ``eta=0.8``,
    ``clip_guidance_scale=5000``, ``range_scale=150``, ``tv_scale``, ``sat_scale``, ``cutn_batches=4``,
    the cut schedules, ``skip_steps``). ``use_fp16`` leaves the weights in float32 (``--amp``)."""

    weights_from_config = True  # pretrained_cfgs: `mgx run test CFG` needs no checkpoint

    def __init__(self, unet: Any, diffusion_scheduler: Any, secondary_model: Any = None, clip_models: Any = (),
                 use_fp16: bool = False, pretrained_cfgs: dict | None = None, val_prompts: Any = None,
                 num_images_per_prompt: int = 1, infer_kwargs: dict | None = None) -> None:
        super().__init__()
        self.unet = build(unet, "model") if isinstance(unet, dict) else unet
        self.diffusion_scheduler = build(diffusion_scheduler, "model") if isinstance(diffusion_scheduler, dict) \
            else diffusion_scheduler
        if not clip_models:
            raise ConfigError("DiscoDiffusion: clip_models must name at least one CLIP model")
        self.clip_models = nn.ModuleList([build_clip(cfg) for cfg in clip_models])
        self.secondary_model = (build(secondary_model, "model") if isinstance(secondary_model, dict)
                                else secondary_model)
        unknown = sorted(set(infer_kwargs or {}) - set(INFER_DEFAULTS))
        if unknown:
            raise ConfigError(f"DiscoDiffusion: infer_kwargs has unknown key(s) {unknown}; it takes "
                              f"{sorted(INFER_DEFAULTS)}")
        self.settings = {**INFER_DEFAULTS, **(infer_kwargs or {})}
        self.num_train_timesteps = int(self.diffusion_scheduler.config.num_train_timesteps)
        mmagic_timesteps(self.num_train_timesteps, int(self.settings["num_inference_steps"]))
        self.val_prompts = [val_prompts] if isinstance(val_prompts, str) else list(val_prompts or [])
        if not self.val_prompts:
            self.prompt_grids = None  # nothing to sample
        self.num_images_per_prompt = int(num_images_per_prompt)
        for key, cfg in (pretrained_cfgs or {}).items():
            if not isinstance(getattr(self, key, None), nn.Module) or not isinstance(cfg, dict) or "ckpt_path" not in cfg:
                raise ConfigError(f"DiscoDiffusion: pretrained_cfgs.{key} must be dict(ckpt_path=..., prefix=...) "
                                  f"for one of the model's networks (unet, secondary_model)")
            load_pretrained(getattr(self, key), dict(type="Pretrained", checkpoint=cfg["ckpt_path"],
                                                     prefix=cfg.get("prefix", "")), f"DiscoDiffusion.{key}")
        self.requires_grad_(False)

    def train_step(self, batch: dict, optim: Any) -> dict:
        raise MgxError("DiscoDiffusion is for inference only, as in MMagic: `mgx run test CFG` samples val_prompts")

    def prompt_stats(self, prompts: list[str]) -> list[dict]:
        """Per CLIP model: its target text embeddings and the prompts' weights (normalised to sum 1)."""
        stats = []
        for clip in self.clip_models:
            weights = torch.tensor([_parse_prompt(prompt)[1] for prompt in prompts],
                                   device=next(clip.parameters()).device)
            if weights.sum().abs() < 1e-3:
                raise ConfigError(f"DiscoDiffusion: the prompt weights of {prompts} must not sum to 0")
            # (MMagic encodes the whole 'text:weight' string; so does this)
            stats.append({"clip": clip, "embeds": clip.encode_text(list(prompts)).float(),
                          "weights": weights / weights.sum().abs()})
        return stats

    def infer(self, text_prompts: list[str], noise: torch.Tensor, generator: torch.Generator | None = None
              ) -> torch.Tensor:
        """Images in [−1, 1] from ``noise`` (N×C×H×W) guided towards ``text_prompts``."""
        settings, scheduler = self.settings, self.diffusion_scheduler
        steps = int(settings["num_inference_steps"])
        scheduler.set_timesteps(steps)
        scheduler.timesteps = mmagic_timesteps(self.num_train_timesteps, steps)
        prompts = self.prompt_stats(text_prompts)
        alphas_cumprod = scheduler.alphas_cumprod
        image = noise
        for t in scheduler.timesteps[int(settings["skip_steps"]):]:
            eps = self.unet(image, t)["sample"][:, :image.shape[1]]
            grad = clip_guidance(image, int(t), alphas_cumprod, self.unet, prompts, settings, self.secondary_model)
            eps = eps - (1 - alphas_cumprod[int(t)].item()) ** 0.5 * grad
            image = scheduler.step(eps, int(t), image, eta=float(settings["eta"]), generator=generator).prev_sample
        return image

    def prompt_grids(self, seed: int) -> dict[str, torch.Tensor]:
        device = next(self.unet.parameters()).device
        grids = {}
        for index, prompt in enumerate(self.val_prompts):
            generator = torch.Generator().manual_seed(int(seed) + index)
            side = int(self.unet.image_size)
            noise = torch.randn(self.num_images_per_prompt, int(self.unet.in_channels), side, side, generator=generator)
            torch.manual_seed(int(seed) + index)  # the cutouts' random crops and augmentations
            grids[prompt] = self.infer([prompt], noise.to(device), generator=generator)
        return grids
