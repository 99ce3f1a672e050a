"""DreamBooth (Ruiz et al. 2023) under MMagic 1.2.0's name and arguments: Stable Diffusion fine-tuned on a
few images of one subject ("a photo of sks dog"), optionally with prior preservation and LoRA."""
from __future__ import annotations

from typing import Any

import torch

from mgx.core.errors import ConfigError

from ..stable_diffusion.lora import set_lora
from ..stable_diffusion.model import StableDiffusion

PRIOR_SEED = 2023  # class images come from their own generator: the same after --resume, no global RNG drawn


class DreamBooth(StableDiffusion):
    """MMagic's ``DreamBooth(vae, text_encoder, tokenizer, unet, scheduler, test_scheduler=None,
    lora_config=None, val_prompts=None, class_prior_prompt=None, num_class_images=3, prior_loss_weight=0,
    finetune_text_encoder=False, dtype='fp16', enable_xformers=True, noise_offset_weight=0, ...)``.

    ``lora_config`` adds LoRA mappings to the UNet and freezes the rest of it (MMagic's configs then
    optimise ``modules='.*.lora_mapping'`` only). With ``prior_loss_weight > 0`` the model first generates
    ``num_class_images`` images of ``class_prior_prompt`` and adds, for each instance image, the
    noise-prediction loss of a random class image with that prompt (``prior_loss``).
    """

    def __init__(self, vae: Any, text_encoder: Any, tokenizer: Any, unet: Any, scheduler: Any,
                 test_scheduler: Any = None, lora_config: dict | None = None, val_prompts: Any = None,
                 class_prior_prompt: str | None = None, num_class_images: int | None = 3,
                 prior_loss_weight: float = 0, finetune_text_encoder: bool = False, dtype: str = "fp16",
                 **kwargs: Any) -> None:
        super().__init__(vae, text_encoder, tokenizer, unet, scheduler, test_scheduler, dtype=dtype,
                         val_prompts=val_prompts, **kwargs)
        self.prior_loss_weight = float(prior_loss_weight)
        if self.prior_loss_weight:
            if not class_prior_prompt:
                raise ConfigError("DreamBooth: prior_loss_weight > 0 needs class_prior_prompt='a dog' (say)")
            if isinstance(num_class_images, bool) or not isinstance(num_class_images, int) or num_class_images < 1:
                raise ConfigError(f"DreamBooth: num_class_images must be a positive int, got {num_class_images!r}")
        self.class_prior_prompt, self.num_class_images = class_prior_prompt, num_class_images
        if self.prior_loss_weight:
            # generated from the pretrained weights at the first step and kept in checkpoints, so a
            # --resume trains on the same class images
            size = (num_class_images, 3, self.image_size, self.image_size)
            self.register_buffer("class_images", torch.zeros(size))
            self.register_buffer("class_images_ready", torch.zeros((), dtype=torch.bool))
        self.lora_config = lora_config
        self.finetune_text_encoder = bool(finetune_text_encoder) and not lora_config
        self.text_encoder.requires_grad_(self.finetune_text_encoder)
        if lora_config:
            self.unet.requires_grad_(False)
            self.lora_layers = set_lora(self.unet, lora_config)

    def class_prior_images(self) -> torch.Tensor:
        """The class images of prior preservation (generated once: eval mode, fixed seeds)."""
        if not bool(self.class_images_ready):
            was_training = self.training
            self.eval()
            try:
                for index in range(self.num_class_images):
                    prompt = self.class_prior_prompt
                    if self.num_class_images > 1:
                        prompt = f"{prompt} {index + 1} of {self.num_class_images}"
                    self.class_images[index] = self.infer([prompt], seed=PRIOR_SEED + index)[0]
                self.class_images_ready.fill_(True)
            finally:
                self.train(was_training)
        return self.class_images

    def train_step(self, batch: dict, optim: Any) -> dict[str, torch.Tensor]:
        self._settle_frozen_dtype()
        images, prompts = self.batch_inputs(batch)
        count = images.shape[0]
        if self.prior_loss_weight:
            pool = self.class_prior_images()
            chosen = torch.randint(0, len(pool), (count,))
            images = torch.cat([images, pool[chosen.to(pool.device)].to(images)])
            prompts = prompts + [self.class_prior_prompt] * count
        terms = self.diffusion_loss_terms(images, prompts, optim)
        losses = {"loss_mse": terms[:count].mean()}
        if self.prior_loss_weight:
            losses["prior_loss"] = self.prior_loss_weight * terms[count:].mean()
        loss = sum(losses.values())
        self._optimizer(optim).update_params(loss)
        return {**{key: value.detach() for key, value in losses.items()}, "loss": loss.detach()}
