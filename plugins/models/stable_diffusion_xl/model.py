"""Stable Diffusion XL (Podell et al. 2023) under MMagic 1.2.0's name and arguments, on diffusers.

The UNet's cross-attention reads both text encoders' penultimate hidden states side by side
(``text_encoder_one`` ⊕ ``text_encoder_two``); its added embedding reads the second encoder's pooled
(projected, for a ``CLIPTextModelWithProjection``) embedding and the size conditioning
``time_ids = (original h, w, crop top, left, target h, w)`` — here the image size, no crop.
Training, sampling and the sample grids are Stable Diffusion's (``StableDiffusion``).
"""
from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from mgx.core.errors import ConfigError

from ..stable_diffusion.lora import set_lora
from ..stable_diffusion.model import StableDiffusion, _component, plain_copy
from ..stable_diffusion.wrappers import load_tokenizer


class StableDiffusionXL(StableDiffusion):
    """MMagic's ``StableDiffusionXL(vae, text_encoder_one, tokenizer_one, text_encoder_two, tokenizer_two,
    unet, scheduler, test_scheduler=None, dtype=None, enable_xformers=True, noise_offset_weight=0,
    tomesd_cfg=None, data_preprocessor=..., lora_config=None, val_prompts=None, finetune_text_encoder=False,
    force_zeros_for_empty_prompt=True, init_cfg=None)``. ``tokenizer_two`` is the ``tokenizer_2``
    subfolder of a pipeline name; with ``force_zeros_for_empty_prompt`` the unconditional branch of
    classifier-free guidance is all zeros (diffusers' SDXL default)."""

    def __init__(self, vae: Any, text_encoder_one: Any, tokenizer_one: Any, text_encoder_two: Any, tokenizer_two: Any,
                 unet: Any, scheduler: Any, test_scheduler: Any = None, lora_config: dict | None = None,
                 finetune_text_encoder: bool = False, force_zeros_for_empty_prompt: bool = True, **kwargs: Any) -> None:
        super().__init__(vae, text_encoder_one, tokenizer_one, unet, scheduler, test_scheduler, **kwargs)
        name = type(self).__name__
        self.text_encoder_two = _component(text_encoder_two, "text_encoder_two", name)
        self.tokenizer_two = load_tokenizer(tokenizer_two, f"{name}.tokenizer_two", subfolder="tokenizer_2")
        self.force_zeros_for_empty_prompt = bool(force_zeros_for_empty_prompt)
        self._check_text_width(name)
        self.finetune_text_encoder = bool(finetune_text_encoder) and not lora_config
        self.text_encoders().requires_grad_(self.finetune_text_encoder)
        if self.unet.config.addition_embed_type != "text_time":
            raise ConfigError(f"{name}: the UNet must be an SDXL UNet (addition_embed_type='text_time'), got "
                              f"{self.unet.config.addition_embed_type!r}")
        if lora_config:
            self.unet.requires_grad_(False)
            self.lora_layers = set_lora(self.unet, lora_config)

    @property
    def text_encoder_one(self) -> nn.Module:
        return self.text_encoder

    def text_encoders(self) -> nn.Module:
        return nn.ModuleList([self.text_encoder, self.text_encoder_two])

    def _check_text_width(self, name: str) -> None:
        if "text_encoder_two" not in self._modules:
            return  # called again once both encoders exist
        width = self.text_encoder.config.hidden_size + self.text_encoder_two.config.hidden_size
        if self.unet.config.cross_attention_dim != width:
            raise ConfigError(f"{name}: unet.cross_attention_dim={self.unet.config.cross_attention_dim} but the two "
                              f"text encoders' hidden sizes add up to {width}")

    def _encode(self, encoder: nn.Module, tokenizer: Any, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        ids = tokenizer(prompts, max_length=tokenizer.model_max_length, padding="max_length", truncation=True,
                        return_tensors="pt")["input_ids"].to(self.device)
        out = encoder(ids, output_hidden_states=True)
        return out.hidden_states[-2].float(), out[0].float()

    def condition(self, prompts: list[str]) -> dict[str, Any]:
        hidden_one, _ = self._encode(self.text_encoder, self.tokenizer, prompts)
        hidden_two, pooled = self._encode(self.text_encoder_two, self.tokenizer_two, prompts)
        hidden = torch.cat([hidden_one, hidden_two], dim=-1)
        if self.force_zeros_for_empty_prompt and not self.training and all(prompt == "" for prompt in prompts):
            hidden, pooled = torch.zeros_like(hidden), torch.zeros_like(pooled)
        size = self.image_size
        time_ids = torch.tensor([[size, size, 0, 0, size, size]], dtype=hidden.dtype, device=hidden.device)
        return {"encoder_hidden_states": hidden,
                "added_cond_kwargs": {"text_embeds": pooled, "time_ids": time_ids.repeat(len(prompts), 1)}}

    def pipeline_parts(self) -> tuple[str, dict[str, Any]]:
        _, parts = super().pipeline_parts()
        return "StableDiffusionXLPipeline", dict(
            vae=parts["vae"], text_encoder=parts["text_encoder"], tokenizer=parts["tokenizer"],
            text_encoder_2=plain_copy(self.text_encoder_two), tokenizer_2=self.tokenizer_two, unet=parts["unet"],
            scheduler=copy.deepcopy(self.test_scheduler), force_zeros_for_empty_prompt=self.force_zeros_for_empty_prompt)
