"""AnimateDiff (Guo et al. 2023) under MMagic 1.2.0's name and arguments, on diffusers: a personalised
Stable Diffusion (a DreamBooth base model, ``dream_booth_lora_cfg``) whose UNet is inflated with
AnimateDiff's motion modules (``UNet3DConditionMotionModel`` → ``diffusers.UNetMotionModel``, weights from
``motion_module_cfg``) generates a clip per prompt: latents of ``video_length`` frames denoised together
with classifier-free guidance, then decoded frame by frame by the VAE. Inference only, as in MMagic."""
from __future__ import annotations

import copy
import inspect
from typing import Any

import torch

from mgx.core.errors import ConfigError, MgxError

from ..stable_diffusion.model import StableDiffusion, _concat_conditions, plain_copy
from .weights import checked_path, convert_motion_state, load_dreambooth, load_motion_modules

DEFAULT_STEPS, DEFAULT_GUIDANCE = 50, 7.5  # MMagic's AnimateDiff.infer defaults


class AnimateDiff(StableDiffusion):
    """MMagic's ``AnimateDiff(vae, text_encoder, tokenizer, unet, scheduler, test_scheduler=None, dtype='fp32',
    enable_xformers=True, noise_offset_weight=0, tomesd_cfg=None, data_preprocessor=...,
    motion_module_cfg=None, dream_booth_lora_cfg=None)``.

    mgx's additions (how ``mgx run test`` samples): ``val_prompts`` and ``val_negative_prompts`` (one per
    prompt, or one for all), ``video_length`` (16 frames), ``height``/``width`` (default: the UNet's
    sample size × the VAE's factor), ``num_inference_steps``/``guidance_scale`` (default:
    ``dream_booth_lora_cfg``'s ``steps``/``guidance_scale``, else MMagic's 50 and 7.5) and
    ``num_videos_per_prompt`` (1)."""

    def __init__(self, vae: Any, text_encoder: Any, tokenizer: Any, unet: Any, scheduler: Any,
                 test_scheduler: Any = None, dtype: str | None = "fp32", enable_xformers: bool = True,
                 noise_offset_weight: float = 0, tomesd_cfg: dict | None = None, data_preprocessor: dict | None = None,
                 motion_module_cfg: dict | None = None, dream_booth_lora_cfg: dict | None = None,
                 val_prompts: Any = None, val_negative_prompts: Any = None, video_length: int = 16,
                 height: int | None = None, width: int | None = None, num_inference_steps: int | None = None,
                 guidance_scale: float | None = None, num_videos_per_prompt: int = 1, init_cfg: dict | None = None) -> None:
        if tomesd_cfg is not None:
            raise ConfigError("AnimateDiff: tomesd_cfg is not supported (token merging is for 2-D UNets); remove it")
        # the named files first: a missing one is reported before Stable Diffusion is downloaded
        for field, cfg in (("motion_module_cfg", motion_module_cfg), ("dream_booth_lora_cfg", dream_booth_lora_cfg)):
            if cfg is not None:
                checked_path(cfg, f"model.{field}")
        personal = dream_booth_lora_cfg if isinstance(dream_booth_lora_cfg, dict) else {}
        steps = num_inference_steps or personal.get("steps") or DEFAULT_STEPS
        guidance = guidance_scale if guidance_scale is not None else personal.get("guidance_scale", DEFAULT_GUIDANCE)
        super().__init__(vae, text_encoder, tokenizer, unet, scheduler, test_scheduler, dtype=dtype,
                         enable_xformers=enable_xformers, noise_offset_weight=noise_offset_weight,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg, val_prompts=val_prompts,
                         num_inference_steps=steps, guidance_scale=guidance, num_images_per_prompt=num_videos_per_prompt)
        if not hasattr(self.unet, "load_motion_modules"):
            raise ConfigError(f"AnimateDiff: unet must be dict(type='UNet3DConditionMotionModel', ...), got "
                              f"{type(self.unet).__name__}")
        if isinstance(video_length, bool) or not isinstance(video_length, int) or video_length < 1:
            raise ConfigError(f"AnimateDiff: video_length must be a positive int, got {video_length!r}")
        self.video_length = video_length
        self.height, self.width = self._side(height, "height"), self._side(width, "width")
        self.val_negative_prompts = self._negative_prompts(val_negative_prompts)
        if motion_module_cfg is not None:
            load_motion_modules(self.unet, motion_module_cfg)
        if dream_booth_lora_cfg is not None:
            load_dreambooth(self, dream_booth_lora_cfg)
        self.unet.requires_grad_(False)  # MMagic freezes every part: AnimateDiff here only samples

    def _side(self, value: int | None, field: str) -> int:
        side = self.image_size if value is None else value
        if isinstance(side, bool) or not isinstance(side, int) or side < 1 or side % self.vae_scale_factor:
            raise ConfigError(f"AnimateDiff: {field} must be a positive multiple of {self.vae_scale_factor} (the "
                              f"VAE's factor), got {value!r}")
        return side

    def _negative_prompts(self, negative: Any) -> list[str]:
        if negative is None or isinstance(negative, str):
            return [negative or ""] * len(self.val_prompts)
        negative = [text or "" for text in negative]
        if len(negative) != len(self.val_prompts):
            raise ConfigError(f"AnimateDiff: val_negative_prompts has {len(negative)} texts for "
                              f"{len(self.val_prompts)} val_prompts; give one per prompt, or one string for all")
        return negative

    def train_step(self, batch: dict, optim: Any) -> dict:
        raise MgxError("AnimateDiff is for inference only, as in MMagic (`mgx run test CFG` samples its clips)")

    def predict_noise(self, latents: torch.Tensor, steps: Any, condition: dict[str, Any]) -> torch.Tensor:
        """The UNet on N×C×T×h×w latents; each frame cross-attends to its clip's prompt (diffusers'
        UNetMotionModel takes the text per frame, MMagic's UNet3D repeats it inside)."""
        frames = latents.shape[2]
        text = condition["encoder_hidden_states"].repeat_interleave(frames, dim=0)
        return self.unet(latents, steps, encoder_hidden_states=text).sample

    @torch.no_grad()
    def infer(self, prompts: list[str], *, seed: int, num_images_per_prompt: int = 1,
              negative_prompts: list[str] | None = None, num_inference_steps: int | None = None,
              guidance_scale: float | None = None, video_length: int | None = None) -> torch.Tensor:
        """N×T×3×H×W clips in [-1, 1] for ``prompts`` (``num_images_per_prompt`` each), from latents drawn by
        a generator seeded with ``seed`` (no global random state is used)."""
        steps = num_inference_steps or self.num_inference_steps
        guidance = self.guidance_scale if guidance_scale is None else guidance_scale
        frames = video_length or self.video_length
        negative = negative_prompts or [""] * len(prompts)
        prompts = [prompt for prompt in prompts for _ in range(num_images_per_prompt)]
        negative = [text for text in negative for _ in range(num_images_per_prompt)]
        condition = self.condition(prompts)
        if guidance > 1:
            condition = _concat_conditions(self.condition(negative), condition)
        scheduler = copy.deepcopy(self.test_scheduler)
        scheduler.set_timesteps(steps, device=self.device)
        factor = self.vae_scale_factor
        generator = torch.Generator().manual_seed(int(seed))
        shape = (len(prompts), self.vae.config.latent_channels, frames, self.height // factor, self.width // factor)
        latents = (torch.randn(shape, generator=generator) * scheduler.init_noise_sigma).to(self.device)
        step_options = {"generator": generator} if "generator" in inspect.signature(scheduler.step).parameters else {}
        for step in scheduler.timesteps:
            model_in = torch.cat([latents] * 2) if guidance > 1 else latents
            predicted = self.predict_noise(scheduler.scale_model_input(model_in, step), step, condition).float()
            if guidance > 1:
                unconditional, conditional = predicted.chunk(2)
                predicted = unconditional + guidance * (conditional - unconditional)
            latents = scheduler.step(predicted, step, latents, **step_options).prev_sample
        return self.decode_frames(latents)

    def decode_frames(self, latents: torch.Tensor) -> torch.Tensor:
        """N×C×T×h×w latents → N×T×3×H×W frames in [-1, 1], one frame through the VAE at a time (MMagic's
        order: bounded memory for long clips)."""
        count, frames = latents.shape[0], latents.shape[2]
        flat = latents.permute(0, 2, 1, 3, 4).reshape(count * frames, *latents.shape[1:2], *latents.shape[3:])
        dtype = next(self.vae.parameters()).dtype
        images = torch.cat([self.vae.decode((frame[None] / self.scaling_factor).to(dtype)).sample for frame in flat])
        return images.float().clamp(-1, 1).reshape(count, frames, *images.shape[1:])

    def prompt_grids(self, seed: int) -> dict[str, torch.Tensor]:
        """``{prompt: N×T×3×H×W clips in [-1, 1]}`` for each of ``val_prompts``, the same for the same ``seed``."""
        return {prompt: self.infer([prompt], seed=seed + index, num_images_per_prompt=self.num_images_per_prompt,
                                   negative_prompts=[negative])
                for index, (prompt, negative) in enumerate(zip(self.val_prompts, self.val_negative_prompts))}

    # -- checkpoints and diffusers' format ----------------------------------------------------

    def adapt_loaded_weights(self, weights: dict) -> dict:
        """``load_from``: a checkpoint of MMagic's AnimateDiff (its UNet3D's motion modules in MMagic's names)
        loads after renaming those keys (weights.py); an mgx checkpoint passes unchanged."""
        return convert_motion_state(weights)

    def pipeline_parts(self) -> tuple[str, dict[str, Any]]:
        return "AnimateDiffPipeline", dict(
            vae=self.vae, text_encoder=plain_copy(self.text_encoder), tokenizer=self.tokenizer,
            unet=plain_copy(self.unet), motion_adapter=None, scheduler=copy.deepcopy(self.test_scheduler))
