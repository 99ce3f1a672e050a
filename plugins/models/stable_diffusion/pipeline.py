"""MMagic's ``DiffusionPipeline(from_pretrained=NAME_OR_FOLDER)``: a ready diffusers pipeline (its class
read from the folder's ``model_index.json``, as ``diffusers.DiffusionPipeline.from_pretrained`` does),
for inference: ``mgx run test CFG`` samples ``val_prompts`` with a fixed seed and logs one grid per
prompt; ``val_step`` generates for a dataset of prompts (for CLIPScore). There is nothing to train.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from mgx.core.errors import ConfigError, MgxError

from ..stable_diffusion.hub import load_pretrained


class DiffusionPipeline(nn.Module):
    """``DiffusionPipeline(from_pretrained, val_prompts=None, num_inference_steps=50, guidance_scale=7.5,
    num_images_per_prompt=4, height=None, width=None, **pipeline_kwargs)``: ``pipeline_kwargs`` go to
    ``from_pretrained`` (``variant='fp16'``, ``torch_dtype``...); ``height``/``width`` default to the
    pipeline's own size."""

    weights_from_config = True  # `mgx run test CFG` needs no checkpoint

    def __init__(self, from_pretrained: Any, val_prompts: Any = None, num_inference_steps: int = 50,
                 guidance_scale: float = 7.5, num_images_per_prompt: int = 4, height: int | None = None,
                 width: int | None = None, **pipeline_kwargs: Any) -> None:
        super().__init__()
        import diffusers

        for field, value in (("num_inference_steps", num_inference_steps),
                             ("num_images_per_prompt", num_images_per_prompt)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"DiffusionPipeline: {field} must be a positive int, got {value!r}")
        dtype = pipeline_kwargs.get("torch_dtype")
        if isinstance(dtype, str):
            pipeline_kwargs["torch_dtype"] = getattr(torch, dtype.replace("torch.", ""))
        self.pipeline = load_pretrained(diffusers.DiffusionPipeline.from_pretrained, from_pretrained, None,
                                        "DiffusionPipeline", **pipeline_kwargs)
        self.pipeline.set_progress_bar_config(disable=True)
        # the pipeline's networks as sub-modules: .to(device), state_dict and eval() reach them
        self.parts = nn.ModuleDict({name: part for name, part in self.pipeline.components.items()
                                    if isinstance(part, nn.Module)})
        self.parts.requires_grad_(False)
        self.num_inference_steps, self.guidance_scale = num_inference_steps, float(guidance_scale)
        self.num_images_per_prompt, self.height, self.width = num_images_per_prompt, height, width
        self.val_prompts = [val_prompts] if isinstance(val_prompts, str) else list(val_prompts or [])
        if not self.val_prompts:
            self.prompt_grids = None  # nothing to sample: `mgx run test` then needs a test evaluator

    def train_step(self, batch: dict, optim: Any) -> dict:
        raise MgxError("DiffusionPipeline is for inference only (`mgx run test CFG`); train a StableDiffusion, "
                       "DreamBooth, ... config instead")

    @torch.no_grad()
    def infer(self, prompts: list[str], *, seed: int, num_images_per_prompt: int = 1) -> torch.Tensor:
        """N×3×H×W images in [-1, 1], from a generator seeded with ``seed``."""
        device = next(self.parts.parameters()).device
        self.pipeline.to(device)
        generator = torch.Generator(device).manual_seed(int(seed))
        options = {key: value for key, value in (("height", self.height), ("width", self.width)) if value}
        images = self.pipeline(prompts, num_inference_steps=self.num_inference_steps,
                               guidance_scale=self.guidance_scale, num_images_per_prompt=num_images_per_prompt,
                               generator=generator, output_type="pt", **options).images
        return images.float() * 2 - 1

    def prompt_grids(self, seed: int) -> dict[str, torch.Tensor]:
        return {prompt: self.infer([prompt], seed=seed + index, num_images_per_prompt=self.num_images_per_prompt)
                for index, prompt in enumerate(self.val_prompts)}

    def val_step(self, batch: dict) -> dict[str, Any]:
        prompts = batch.get("prompt") if isinstance(batch, dict) else None
        prompts = [prompts] if isinstance(prompts, str) else prompts
        if not prompts:
            raise MgxError("DiffusionPipeline.val_step needs batch['prompt'] (a dataset of prompts)")
        seeds = [int(i) for i in batch.get("sample_idx", range(len(prompts)))]
        images = torch.cat([self.infer([prompt], seed=seed) for prompt, seed in zip(prompts, seeds)])
        return {"fake_img": (images + 1) * 127.5, "prompt": list(prompts)}

    def save_pretrained(self, folder: str | Path) -> Path:
        self.pipeline.save_pretrained(str(folder))
        return Path(folder)
