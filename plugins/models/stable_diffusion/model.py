"""Stable Diffusion (Rombach et al. 2022) under MMagic 1.2.0's name and arguments, on diffusers.

Training is the noise-prediction objective: images → frozen VAE latents (× ``scaling_factor``), a random
timestep per image, ``scheduler.add_noise``, the UNet conditioned on the frozen CLIP text encoder's
hidden states predicts the noise (or the velocity for ``prediction_type='v_prediction'``); the loss is
their MSE (``loss_mse``). Sampling uses ``test_scheduler`` with classifier-free guidance.
"""
from __future__ import annotations

import copy
import inspect
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError, MgxError
from mgx.core.registry import build

from .lora import merged_state_dict
from .wrappers import load_tokenizer

DTYPES = {None: torch.float32, "fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def unwrap(module: Any) -> Any:
    """The module inside a DDP wrapper (the engine DDP-wraps trainable children)."""
    return getattr(module, "module", module)


def _concat_conditions(first: dict, second: dict) -> dict:
    """Two conditioning dicts batched together (nested dicts, e.g. SDXL's ``added_cond_kwargs``, too)."""
    return {key: _concat_conditions(value, second[key]) if isinstance(value, dict) else torch.cat([value, second[key]])
            for key, value in first.items()}


def _component(cfg: Any, field: str, owner: str) -> Any:
    if isinstance(cfg, dict) and "type" in cfg:
        return build(cfg, "model")
    if cfg is None or isinstance(cfg, dict):
        raise ConfigError(f"{owner}: {field} must be dict(type=..., ...), got {cfg!r}")
    return cfg  # an already built object (tests, scripts)


class StableDiffusion(nn.Module):
    """MMagic's ``StableDiffusion(vae, text_encoder, tokenizer, unet, scheduler, test_scheduler=None,
    dtype=None, enable_xformers=True, noise_offset_weight=0, tomesd_cfg=None, data_preprocessor=...)``.

    mgx's additions: ``val_prompts`` (prompts of the sample grids that ``mgx run test`` logs),
    ``num_inference_steps``/``guidance_scale``/``num_images_per_prompt`` (how they are sampled) and
    ``gradient_checkpointing`` (the UNet recomputes activations in backward).
    """

    # every weight comes from the components' from_pretrained: `mgx run test CFG` needs no checkpoint
    weights_from_config = True

    def __init__(self, vae: Any, text_encoder: Any, tokenizer: Any, unet: Any, scheduler: Any,
                 test_scheduler: Any = None, dtype: str | None = None, enable_xformers: bool = True,
                 noise_offset_weight: float = 0, tomesd_cfg: dict | None = None,
                 data_preprocessor: dict | None = None, init_cfg: dict | None = None,
                 val_prompts: Any = None, num_inference_steps: int = 50, guidance_scale: float = 7.5,
                 num_images_per_prompt: int = 4, gradient_checkpointing: bool = False) -> None:
        super().__init__()
        name = type(self).__name__
        if init_cfg is not None:
            raise ConfigError(f"{name}: init_cfg is not used; give each component's from_pretrained=")
        if dtype not in DTYPES:
            raise ConfigError(f"{name}: dtype must be one of fp32, fp16, bf16 (or None), got {dtype!r}")
        for field, value in (("num_inference_steps", num_inference_steps),
                             ("num_images_per_prompt", num_images_per_prompt)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name}: {field} must be a positive int, got {value!r}")
        # the frozen parts' dtype on a GPU; on the CPU they stay float32 (half kernels are slow or missing)
        self.frozen_dtype = DTYPES[dtype]
        self.enable_xformers = bool(enable_xformers)
        self.noise_offset_weight = float(noise_offset_weight)
        self.num_inference_steps, self.guidance_scale = num_inference_steps, float(guidance_scale)
        self.num_images_per_prompt = num_images_per_prompt
        self.val_prompts = [val_prompts] if isinstance(val_prompts, str) else list(val_prompts or [])
        if not self.val_prompts:
            self.prompt_grids = None  # nothing to sample: `mgx run test` then needs a test evaluator
        self.data_preprocessor = _component(data_preprocessor or dict(type="DataPreprocessor"),
                                            "data_preprocessor", name)
        self.vae = _component(vae, "vae", name).requires_grad_(False)
        self.text_encoder = _component(text_encoder, "text_encoder", name)
        self.text_encoder.requires_grad_(False)
        self.unet = _component(unet, "unet", name)
        self.tokenizer = load_tokenizer(tokenizer, name)
        self.scheduler = _component(scheduler, "scheduler", name)
        self.test_scheduler = copy.deepcopy(self.scheduler) if test_scheduler is None else \
            _component(test_scheduler, "test_scheduler", name)
        if gradient_checkpointing:
            self.unet.enable_gradient_checkpointing()
        if tomesd_cfg is not None:
            from .token_merging import apply_token_merging

            self.merged_attention = apply_token_merging(self.unet, tomesd_cfg)
        self._check_parts(name)

    def _check_parts(self, name: str) -> None:
        unet_cfg, vae_cfg = self.unet.config, self.vae.config
        if unet_cfg.in_channels != self.unet_input_channels():
            raise ConfigError(f"{name}: unet.in_channels={unet_cfg.in_channels}, but it must be "
                              f"{self.unet_input_channels()} for the VAE's {vae_cfg.latent_channels}-channel latents")
        self._check_text_width(name)
        self.vae_scale_factor = 2 ** (len(vae_cfg.block_out_channels) - 1)
        self.image_size = int(unet_cfg.sample_size) * self.vae_scale_factor
        self.scaling_factor = float(getattr(vae_cfg, "scaling_factor", 0.18215))
        self.prediction_type = self.scheduler.config.prediction_type
        if self.prediction_type not in ("epsilon", "v_prediction"):
            raise ConfigError(f"{name}: scheduler prediction_type {self.prediction_type!r} is not trainable; "
                              f"use 'epsilon' or 'v_prediction'")

    def unet_input_channels(self) -> int:
        return self.vae.config.latent_channels

    def _check_text_width(self, name: str) -> None:
        if self.unet.config.cross_attention_dim != self.text_encoder.config.hidden_size:
            raise ConfigError(f"{name}: unet.cross_attention_dim={self.unet.config.cross_attention_dim} but the "
                              f"text encoder's hidden_size is {self.text_encoder.config.hidden_size}")

    # -- pieces ----------------------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        return next(unwrap(self.unet).parameters()).device

    def _settle_frozen_dtype(self) -> None:
        if self.device.type == "cuda" and self.frozen_dtype != torch.float32:
            if next(self.vae.parameters()).dtype != self.frozen_dtype:
                self.vae.to(self.frozen_dtype)
            if not any(p.requires_grad for p in self.text_encoder.parameters()):
                self.text_encoder.to(self.frozen_dtype)

    def token_ids(self, prompts: list[str]) -> torch.Tensor:
        return self.tokenizer(prompts, max_length=self.tokenizer.model_max_length, padding="max_length",
                              truncation=True, return_tensors="pt")["input_ids"].to(self.device)

    def encode_prompts(self, prompts: list[str]) -> torch.Tensor:
        return self.text_encoder(self.token_ids(prompts))[0].float()

    def condition(self, prompts: list[str]) -> dict[str, Any]:
        """The UNet's conditioning keyword arguments for ``prompts`` (one entry per prompt)."""
        return {"encoder_hidden_states": self.encode_prompts(prompts)}

    def predict_noise(self, latents: torch.Tensor, steps: Any, condition: dict[str, Any]) -> torch.Tensor:
        return self.unet(latents, steps, **condition).sample

    def encode_images(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """[-1, 1] images → scaled VAE latents (a sample of the posterior, drawn with ``generator``)."""
        dtype = next(self.vae.parameters()).dtype
        with torch.no_grad():
            latents = self.vae.encode(images.to(dtype)).latent_dist.sample(generator)
        return latents.float() * self.scaling_factor

    def batch_inputs(self, batch: dict) -> tuple[torch.Tensor, list[str]]:
        """``batch['inputs']`` (uint8) in [-1, 1] through the data preprocessor, and ``batch['prompt']``."""
        images = batch.get("inputs") if isinstance(batch, dict) else None
        prompts = batch.get("prompt") if isinstance(batch, dict) else None
        if not isinstance(images, torch.Tensor) or images.dim() != 4:
            raise MgxError(f"{type(self).__name__}.train_step needs batch['inputs'] (N×3×H×W images)")
        if isinstance(prompts, str):
            prompts = [prompts] * images.shape[0]
        if not isinstance(prompts, (list, tuple)) or len(prompts) != images.shape[0]:
            raise MgxError(f"{type(self).__name__}.train_step needs batch['prompt'] (one text per image); the "
                           f"dataset gives {prompts!r}")
        return self.data_preprocessor(images.to(self.device)), list(prompts)

    def _optimizer(self, optim: Any) -> Any:
        return optim["unet"] if "unet" in optim else optim

    def diffusion_loss_terms(self, images: torch.Tensor, prompts: list[str], optim: Any,
                             extra_condition: dict[str, Any] | None = None) -> torch.Tensor:
        """Per-image MSE of the UNet's noise (or velocity) prediction, inside the optimizer's context
        (``extra_condition``: more of ``predict_noise``'s conditioning, e.g. a ControlNet's image)."""
        latents = self.encode_images(images)
        noise = torch.randn_like(latents)
        if self.noise_offset_weight > 0:
            noise = noise + self.noise_offset_weight * torch.randn(*latents.shape[:2], 1, 1, device=latents.device)
        steps = torch.randint(0, self.scheduler.config.num_train_timesteps, (latents.shape[0],),
                              device=latents.device).long()
        noisy = self.scheduler.add_noise(latents, noise, steps)
        target = noise if self.prediction_type == "epsilon" else self.scheduler.get_velocity(latents, noise, steps)
        text_grad = any(p.requires_grad for p in self.text_encoders().parameters())
        with self._optimizer(optim).optim_context(self.unet):
            with torch.set_grad_enabled(text_grad):
                condition = self.condition(prompts)
            predicted = self.predict_noise(noisy, steps, {**condition, **(extra_condition or {})})
        return F.mse_loss(predicted.float(), target.float(), reduction="none").flatten(1).mean(1)

    # -- engine API -------------------------------------------------------------------------

    def train_step(self, batch: dict, optim: Any) -> dict[str, torch.Tensor]:
        self._settle_frozen_dtype()
        images, prompts = self.batch_inputs(batch)
        loss = self.diffusion_loss_terms(images, prompts, optim).mean()
        self._optimizer(optim).update_params(loss)
        return {"loss_mse": loss.detach(), "loss": loss.detach()}

    def val_step(self, batch: dict) -> dict[str, Any]:
        """Images for ``batch['prompt']`` (``fake_img``, [0, 255]) and the prompts, for text–image metrics."""
        prompts = batch.get("prompt") if isinstance(batch, dict) else None
        if isinstance(prompts, str):
            prompts = [prompts]
        if not prompts:
            raise MgxError(f"{type(self).__name__}.val_step needs batch['prompt'] (a dataset of prompts)")
        seeds = [int(i) for i in batch.get("sample_idx", range(len(prompts)))]
        images = torch.cat([self.infer([prompt], seed=seed) for prompt, seed in zip(prompts, seeds)])
        return {"fake_img": (images + 1) * 127.5, "prompt": list(prompts)}

    def text_encoders(self) -> nn.Module:
        """The module holding every text encoder (whose trainable parameters make prompts need grad)."""
        return self.text_encoder

    @torch.no_grad()
    def infer(self, prompts: list[str], *, seed: int, num_images_per_prompt: int = 1,
              num_inference_steps: int | None = None, guidance_scale: float | None = None,
              extra_condition: dict[str, torch.Tensor] | None = None, init_images: torch.Tensor | None = None,
              strength: float = 1.0) -> torch.Tensor:
        """N×3×H×W images in [-1, 1] for ``prompts`` (``num_images_per_prompt`` each), from the latents
        drawn by a generator seeded with ``seed`` (no global random state is used). ``extra_condition``:
        more conditioning, one row per prompt (a ControlNet's image); ``init_images`` ([-1, 1], one per
        prompt) with ``strength`` < 1: image-to-image, denoising the images noised to that fraction."""
        steps = num_inference_steps or self.num_inference_steps
        guidance = self.guidance_scale if guidance_scale is None else guidance_scale
        prompts = [prompt for prompt in prompts for _ in range(num_images_per_prompt)]
        extra = {key: value.repeat_interleave(num_images_per_prompt, 0) for key, value in (extra_condition or {}).items()}
        device = self.device
        condition = {**self.condition(prompts), **extra}
        if guidance > 1:
            unconditional = {**self.condition([""] * len(prompts)), **extra}
            condition = _concat_conditions(unconditional, condition)
        scheduler = copy.deepcopy(self.test_scheduler)
        scheduler.set_timesteps(steps, device=device)
        size = self.image_size // self.vae_scale_factor
        generator = torch.Generator().manual_seed(int(seed))
        latents = torch.randn(len(prompts), self.vae.config.latent_channels, size, size, generator=generator)
        latents, timesteps = latents.to(device), scheduler.timesteps
        if init_images is not None and strength < 1:
            start = min(int(round(steps * (1 - strength))), steps - 1)
            timesteps = timesteps[start:]
            init_images = init_images.to(device).repeat_interleave(num_images_per_prompt, 0)
            clean = self.encode_images(init_images, torch.Generator(device).manual_seed(int(seed)))
            latents = scheduler.add_noise(clean, latents, timesteps[:1].repeat(len(prompts)))
        else:
            latents = latents * scheduler.init_noise_sigma
        # a stochastic scheduler (DDPM, Euler ancestral) draws its step noise from the same generator
        step_options = {"generator": generator} if "generator" in inspect.signature(scheduler.step).parameters else {}
        for step in timesteps:
            model_in = torch.cat([latents] * 2) if guidance > 1 else latents
            model_in = scheduler.scale_model_input(model_in, step)
            predicted = self.predict_noise(model_in, step, condition).float()
            if guidance > 1:
                unconditional, conditional = predicted.chunk(2)
                predicted = unconditional + guidance * (conditional - unconditional)
            latents = scheduler.step(predicted, step, latents, **step_options).prev_sample
        dtype = next(self.vae.parameters()).dtype
        images = self.vae.decode((latents / self.scaling_factor).to(dtype)).sample
        return images.float().clamp(-1, 1)

    def prompt_grids(self, seed: int) -> dict[str, torch.Tensor]:
        """``{prompt: images in [-1, 1]}`` for each of ``val_prompts``, the same for the same ``seed``."""
        return {prompt: self.infer([prompt], seed=seed + index, num_images_per_prompt=self.num_images_per_prompt)
                for index, prompt in enumerate(self.val_prompts)}

    # -- diffusers' own format ---------------------------------------------------------------

    def pipeline_parts(self) -> tuple[str, dict[str, Any]]:
        """(diffusers pipeline class name, its parts): plain diffusers/transformers modules, LoRA folded in."""
        return "StableDiffusionPipeline", dict(
            vae=self.vae, text_encoder=plain_copy(self.text_encoder), tokenizer=self.tokenizer,
            unet=plain_copy(self.unet), scheduler=copy.deepcopy(self.test_scheduler), safety_checker=None,
            feature_extractor=None, requires_safety_checker=False)

    def save_pretrained(self, folder: str | Path) -> Path:
        """A diffusers pipeline folder (``pipeline_parts``), which ``diffusers.DiffusionPipeline.from_pretrained
        (folder)`` loads without mgx."""
        import diffusers

        name, parts = self.pipeline_parts()
        getattr(diffusers, name)(**parts).save_pretrained(str(folder))
        return Path(folder)


def plain_copy(module: Any) -> Any:
    """``module`` (DDP unwrapped) as the diffusers/transformers class it is, LoRA mappings folded into
    its weights; the module itself when it has none."""
    module = unwrap(module)
    if not any(hasattr(child, "lora_mapping") for child in module.modules()):
        return module
    plain = type(module).from_config(module.config) if hasattr(type(module), "from_config") else \
        type(module)(module.config)
    plain.load_state_dict(merged_state_dict(module))
    return plain
