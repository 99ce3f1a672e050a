"""ControlNet (Zhang et al. 2023) under MMagic 1.2.0's names and arguments, on diffusers.

A ``ControlNetModel`` reads the noisy latents, the prompt and a conditioning image (edges, pose, a
segmentation, ... in [0, 1]) and adds residuals to the frozen UNet's skip connections and middle
block. Training optimises the ControlNet only (``optim_wrapper=dict(controlnet=...)``) with Stable
Diffusion's noise-prediction loss; the VAE, text encoder and UNet stay frozen.
"""
from __future__ import annotations

from typing import Any

import torch

from mgx.core.errors import ConfigError, MgxError

from ..stable_diffusion.images import load_images
from ..stable_diffusion.model import StableDiffusion, _component, plain_copy, unwrap

INIT_TYPES = ("init_from_unet", "convert_from_unet")
# the UNet a published ControlNet was trained with (MMagic's default base_model of convert_from_unet)
DEFAULT_BASE_MODEL = dict(type="UNet2DConditionModel", from_pretrained="runwayml/stable-diffusion-v1-5", subfolder="unet")


class ControlStableDiffusion(StableDiffusion):
    """MMagic's ``ControlStableDiffusion(vae, text_encoder, tokenizer, unet, controlnet, scheduler,
    test_scheduler=None, dtype='fp32', enable_xformers=True, noise_offset_weight=0, tomesd_cfg=None,
    data_preprocessor=dict(type='DataPreprocessor'), init_cfg=None, attention_injection=False)``.

    ``init_cfg=dict(type='init_from_unet')`` or ``dict(type='convert_from_unet', base_model=...)``:
    applied when training starts (``initialize``), once (a buffer in the checkpoint says so), never
    for inference, as MMagic's ``init_weights``. mgx's ``val_controls``: the conditioning
    image of each of ``val_prompts`` (one path for all, or one per prompt) for the sample grids.
    """

    def __init__(self, vae: Any, text_encoder: Any, tokenizer: Any, unet: Any, controlnet: Any, scheduler: Any,
                 test_scheduler: Any = None, dtype: str | None = "fp32", enable_xformers: bool = True,
                 noise_offset_weight: float = 0, tomesd_cfg: dict | None = None, data_preprocessor: dict | None = None,
                 init_cfg: dict | None = None, attention_injection: bool = False, val_controls: Any = None,
                 **kwargs: Any) -> None:
        name = type(self).__name__
        super().__init__(vae, text_encoder, tokenizer, unet, scheduler, test_scheduler, dtype=dtype,
                         enable_xformers=enable_xformers, noise_offset_weight=noise_offset_weight,
                         tomesd_cfg=tomesd_cfg, data_preprocessor=data_preprocessor, **kwargs)
        if attention_injection:
            raise ConfigError(f"{name}: attention_injection (reference-only attention) is not supported by mgx; "
                              f"set it False")
        init_type = init_cfg.get("type") if isinstance(init_cfg, dict) else init_cfg
        if init_type is not None and init_type not in INIT_TYPES:
            raise ConfigError(f"{name}: init_cfg type {init_type!r} is not supported; use "
                              f"dict(type='init_from_unet'), dict(type='convert_from_unet', base_model=...) or None")
        self.init_type = init_type
        self.base_model_cfg = (init_cfg.get("base_model") if isinstance(init_cfg, dict) else None) or DEFAULT_BASE_MODEL
        self.register_buffer("controlnet_initialized", torch.zeros((), dtype=torch.bool))
        self.controlnet = _component(controlnet, "controlnet", name)
        self.unet.requires_grad_(False)
        self.controlnet.requires_grad_(True)
        if self.controlnet.config.cross_attention_dim != self.unet.config.cross_attention_dim:
            raise ConfigError(f"{name}: controlnet.cross_attention_dim={self.controlnet.config.cross_attention_dim} "
                              f"but the UNet's is {self.unet.config.cross_attention_dim}")
        controls = [val_controls] if isinstance(val_controls, str) else list(val_controls or [])
        if controls and len(controls) not in (1, len(self.val_prompts)):
            raise ConfigError(f"{name}: val_controls has {len(controls)} images for {len(self.val_prompts)} "
                              f"val_prompts; give one image, or one per prompt")
        if self.val_prompts and not controls:
            raise ConfigError(f"{name}: val_prompts need val_controls (the conditioning image of each prompt's samples)")
        self.val_controls = controls * (len(self.val_prompts) if len(controls) == 1 else 1)

    strength = 1.0  # image-to-image strength of generate(): 1 starts from noise

    def _optimizer(self, optim: Any) -> Any:
        return optim["controlnet"] if "controlnet" in optim else optim

    def initialize(self) -> None:
        """MMagic's ``init_weights`` when training starts. ``init_from_unet``: the parameters the UNet
        shares, zeroed output convolutions. ``convert_from_unet``: a ControlNet trained on
        ``base_model`` moved onto this UNet, each shared weight + (UNet's − base model's)."""
        controlnet, unet = unwrap(self.controlnet), unwrap(self.unet)
        own, current = controlnet.state_dict(), unet.state_dict()
        base = _component(self.base_model_cfg, "init_cfg.base_model", type(self).__name__).state_dict() \
            if self.init_type == "convert_from_unet" else None
        with torch.no_grad():
            for key, value in current.items():
                if key not in own or own[key].shape != value.shape:
                    continue
                if base is None:
                    own[key].copy_(value)
                elif key in base and base[key].shape == value.shape:
                    own[key].add_((value - base[key].to(value)).to(own[key].dtype))
            if base is None:
                for parameter in controlnet.controlnet_down_blocks.parameters():
                    parameter.zero_()
        self.controlnet_initialized.fill_(True)

    def predict_noise(self, latents: torch.Tensor, steps: Any, condition: dict[str, Any]) -> torch.Tensor:
        condition = dict(condition)
        control = condition.pop("controlnet_cond", None)
        if control is None:
            raise MgxError(f"{type(self).__name__} needs a conditioning image (controlnet_cond)")
        hidden = condition["encoder_hidden_states"]
        down, middle = self.controlnet(latents.float(), steps, encoder_hidden_states=hidden.float(),
                                       controlnet_cond=control.float(), return_dict=False)
        return self.unet(latents.float(), steps, encoder_hidden_states=hidden.float(),
                         down_block_additional_residuals=down, mid_block_additional_residual=middle).sample

    def control_inputs(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
        """(target images in [-1, 1], conditioning images in [0, 1], prompts) of a ControlNetDataset batch."""
        inputs = batch.get("inputs") if isinstance(batch, dict) else None
        if not isinstance(inputs, dict) or not {"source", "target"} <= set(inputs):
            raise MgxError(f"{type(self).__name__} needs batch['inputs'] = {{'source': control, 'target': image}} "
                           f"(PackInputs(keys=['source', 'target'])); got {type(inputs).__name__}")
        images, prompts = self.batch_inputs({"inputs": inputs["target"], "prompt": batch.get("prompt")})
        control = (self.data_preprocessor(inputs["source"].to(self.device)) + 1) / 2
        return images, control, prompts

    def train_step(self, batch: dict, optim: Any) -> dict[str, torch.Tensor]:
        self._settle_frozen_dtype()
        if self.init_type and not bool(self.controlnet_initialized):
            self.initialize()
        images, control, prompts = self.control_inputs(batch)
        loss = self.diffusion_loss_terms(images, prompts, optim, {"controlnet_cond": control}).mean()
        self._optimizer(optim).update_params(loss)
        return {"loss": loss.detach()}

    def val_step(self, batch: dict) -> dict[str, Any]:
        """One image per sample of a ControlNetDataset batch, conditioned on its ``source`` image."""
        _, control, prompts = self.control_inputs(batch)
        seeds = [int(i) for i in batch.get("sample_idx", range(len(prompts)))]
        images = torch.cat([self.generate([prompt], control[index:index + 1], seed=seed)
                            for index, (prompt, seed) in enumerate(zip(prompts, seeds))])
        return {"fake_img": (images + 1) * 127.5, "prompt": list(prompts)}

    def generate(self, prompts: list[str], control: torch.Tensor, *, seed: int, num_images_per_prompt: int = 1,
                 init_images: torch.Tensor | None = None) -> torch.Tensor:
        """Images for ``prompts`` steered by ``control`` (N×3×h×w in [0, 1], resized to the image size)."""
        control = torch.nn.functional.interpolate(control.to(self.device), size=(self.image_size,) * 2,
                                                  mode="bilinear", align_corners=False)
        return self.infer(prompts, seed=seed, num_images_per_prompt=num_images_per_prompt,
                          extra_condition={"controlnet_cond": control}, init_images=init_images,
                          strength=self.strength)

    def prompt_grids(self, seed: int) -> dict[str, torch.Tensor]:
        controls = load_images(self.val_controls, self.image_size, type(self).__name__)
        return {prompt: self.generate([prompt], controls[index:index + 1], seed=seed + index,
                                      num_images_per_prompt=self.num_images_per_prompt)
                for index, prompt in enumerate(self.val_prompts)}

    def pipeline_parts(self) -> tuple[str, dict[str, Any]]:
        _, parts = super().pipeline_parts()
        return "StableDiffusionControlNetPipeline", {**parts, "controlnet": plain_copy(self.controlnet)}


class ControlStableDiffusionImg2Img(ControlStableDiffusion):
    """MMagic's ``ControlStableDiffusionImg2Img`` (same arguments): ControlNet-steered image-to-image.
    mgx's ``val_images`` (initial images, one path or one per prompt; default: the ``val_controls``)
    and ``strength`` (how far they are noised: 1 ignores them, MMagic's default) make its sample grids."""

    def __init__(self, *args: Any, val_images: Any = None, strength: float = 1.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0 < strength <= 1:
            raise ConfigError(f"{type(self).__name__}: strength must be in (0, 1], got {strength!r}")
        self.strength = float(strength)
        images = [val_images] if isinstance(val_images, str) else list(val_images or self.val_controls)
        self.val_images = images * (len(self.val_prompts) if len(images) == 1 else 1)

    def prompt_grids(self, seed: int) -> dict[str, torch.Tensor]:
        name = type(self).__name__
        controls = load_images(self.val_controls, self.image_size, name)
        starts = load_images(self.val_images, self.image_size, name) * 2 - 1
        return {prompt: self.generate([prompt], controls[index:index + 1], seed=seed + index,
                                      num_images_per_prompt=self.num_images_per_prompt,
                                      init_images=starts[index:index + 1])
                for index, prompt in enumerate(self.val_prompts)}

    def pipeline_parts(self) -> tuple[str, dict[str, Any]]:
        _, parts = super().pipeline_parts()
        return "StableDiffusionControlNetImg2ImgPipeline", parts


__all__ = ["ControlStableDiffusion", "ControlStableDiffusionImg2Img"]
