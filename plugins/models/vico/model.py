"""ViCo (Hao et al. 2023, "ViCo: Plug-and-play Visual Condition for Personalized Text-to-image
Generation") under MMagic 1.2.0's name and arguments: Textual Inversion's new token plus image
cross-attention modules in the UNet, through which the generated image attends to a reference image of
the concept. Only the token's vectors and the image cross-attentions train; VAE, text encoder and UNet
stay frozen."""
from __future__ import annotations

from typing import Any

import torch
from torch.nn import functional as F

from mgx.core.errors import ConfigError, MgxError

from ..stable_diffusion.images import load_images
from ..stable_diffusion.mmagic_keys import mmagic_keys_as_own
from ..stable_diffusion.model import unwrap
from ..stable_diffusion.sampling import denoise
from ..textual_inversion.model import TextualInversion
from .attention import ViCoState, set_vico_modules

IMAGE_CROSS = "image_cross_attention."


class ViCo(TextualInversion):
    """MMagic's ``ViCo(vae, text_encoder, tokenizer, unet, scheduler, test_scheduler=None, val_prompts=None,
    dtype='fp16', enable_xformers=True, noise_offset_weight=0, tomesd_cfg=None, data_preprocessor=...,
    init_cfg=None, image_cross_layers=None, reg_loss_weight=0, placeholder=None, initialize_token=None,
    num_vectors_per_token=1)``.

    mgx's ``val_image_reference``: the reference image (a path, or one per prompt) the sample grids of
    ``val_prompts`` are generated with; ``mgx run test`` needs it when the config has prompts.
    """

    def __init__(self, vae: Any, text_encoder: Any, tokenizer: Any, unet: Any, scheduler: Any,
                 test_scheduler: Any = None, val_prompts: Any = None, dtype: str | None = "fp16",
                 enable_xformers: bool = True, noise_offset_weight: float = 0, tomesd_cfg: dict | None = None,
                 data_preprocessor: dict | None = None, init_cfg: dict | None = None,
                 image_cross_layers: list | None = None, reg_loss_weight: float = 0, placeholder: str | None = None,
                 initialize_token: str | None = None, num_vectors_per_token: int = 1,
                 val_image_reference: Any = None, **kwargs: Any) -> None:
        if not isinstance(placeholder, str) or not placeholder.strip():
            raise ConfigError(f"ViCo: placeholder must be the new token's text (MMagic's config: 'S*'), got "
                              f"{placeholder!r}")
        super().__init__(placeholder, vae, text_encoder, tokenizer, unet, scheduler, test_scheduler, dtype=dtype,
                         enable_xformers=enable_xformers, noise_offset_weight=noise_offset_weight,
                         tomesd_cfg=tomesd_cfg, initialize_token=initialize_token,
                         num_vectors_per_token=num_vectors_per_token, val_prompts=val_prompts,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg, **kwargs)
        if not isinstance(image_cross_layers, (list, tuple)):
            raise ConfigError(f"ViCo: image_cross_layers must be a list of 0/1, one per UNet transformer, "
                              f"got {image_cross_layers!r}")
        self.placeholder, self.reg_loss_weight = placeholder, float(reg_loss_weight)
        self.vico_state = ViCoState()
        set_vico_modules(self.unet, list(image_cross_layers), self.vico_state)  # (new modules train)
        references = [val_image_reference] if isinstance(val_image_reference, str) else list(val_image_reference or [])
        if references and len(references) not in (1, len(self.val_prompts)):
            raise ConfigError(f"ViCo: val_image_reference has {len(references)} images for {len(self.val_prompts)} "
                              f"val_prompts; give one image, or one per prompt")
        self.val_image_reference = references * (len(self.val_prompts) if len(references) == 1 else 1)

    # -- the placeholder's and the end-of-text token's positions ---------------------------------------

    def token_positions(self, ids: torch.Tensor) -> tuple[tuple, tuple]:
        """(placeholder, end-of-text) ``(row, token)`` index pairs of each row of ``ids``: the first
        placeholder token (the end-of-text token in a row without one, MMagic's rule for prompts
        without the placeholder) and the first end-of-text token."""
        rows = torch.arange(ids.shape[0], device=ids.device)
        placeholder_id = self.tokenizer.convert_tokens_to_ids(self.placeholder_tokens[0])
        end_of_text = (ids == self.tokenizer.eos_token_id).int().argmax(1)
        has = ids == placeholder_id
        placeholder = torch.where(has.any(1), has.int().argmax(1), end_of_text)
        return (rows, placeholder), (rows, end_of_text)

    def unet_with_reference(self, latents: torch.Tensor, references: torch.Tensor, steps: torch.Tensor,
                            hidden: torch.Tensor, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(noise prediction of ``latents``, regularisation loss): the UNet on ``[latents; references]``
        (the references clean, at the same timesteps) with the text for both halves."""
        self.vico_state.begin(*self.token_positions(ids))
        count = latents.shape[0]
        steps = steps.reshape(-1).expand(count) if steps.numel() == 1 else steps
        predicted = self.unet(torch.cat([latents, references]).float(), torch.cat([steps, steps]),
                              encoder_hidden_states=torch.cat([hidden, hidden]).float()).sample[:count]
        losses, self.vico_state.losses = self.vico_state.losses, []
        return predicted, (torch.stack(losses).sum() if losses else predicted.new_zeros(()))

    # -- engine API -------------------------------------------------------------------------

    def reference_inputs(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
        """(images, reference images, both in [-1, 1]; prompts) of a ``with_image_reference`` batch."""
        inputs = batch.get("inputs") if isinstance(batch, dict) else None
        if not isinstance(inputs, dict) or not {"img", "img_ref"} <= set(inputs):
            raise MgxError("ViCo needs batch['inputs'] = {'img': ..., 'img_ref': ...}: TextualInversionDataset("
                           "with_image_reference=True) and PackInputs(keys=['img', 'img_ref'])")
        images, prompts = self.batch_inputs({"inputs": inputs["img"], "prompt": batch.get("prompt")})
        return images, self.data_preprocessor(inputs["img_ref"].to(self.device)), prompts

    def train_step(self, batch: dict, optim: Any) -> dict[str, torch.Tensor]:
        self._settle_frozen_dtype()
        images, references, prompts = self.reference_inputs(batch)
        count = images.shape[0]
        latents = self.encode_images(torch.cat([images, references]))
        noise = torch.randn_like(latents[:count])
        steps = torch.randint(0, self.scheduler.config.num_train_timesteps, (count,), device=latents.device).long()
        noisy = self.scheduler.add_noise(latents[:count], noise, steps)
        target = noise if self.prediction_type == "epsilon" else \
            self.scheduler.get_velocity(latents[:count], noise, steps)
        ids = self.token_ids(prompts)
        with self._optimizer(optim).optim_context(self.unet):
            hidden = self.text_encoder(ids)[0]
            predicted, regulariser = self.unet_with_reference(noisy, latents[count:], steps, hidden, ids)
        vico_loss = F.mse_loss(predicted.float(), target.float())
        loss = vico_loss + self.reg_loss_weight * regulariser
        self._optimizer(optim).update_params(loss)
        logged = {"vico_loss": vico_loss.detach(), "loss": loss.detach()}
        if bool(regulariser != 0):
            logged["loss_reg"] = (self.reg_loss_weight * regulariser).detach()
        return logged

    def val_step(self, batch: dict) -> dict[str, Any]:
        """One image per sample, from its prompt and its reference image (``fake_img``, [0, 255])."""
        _, references, prompts = self.reference_inputs(batch)
        seeds = [int(i) for i in batch.get("sample_idx", range(len(prompts)))]
        images = torch.cat([self.generate([prompt], references[index:index + 1], seed=seed)
                            for index, (prompt, seed) in enumerate(zip(prompts, seeds))])
        return {"fake_img": (images + 1) * 127.5, "prompt": list(prompts)}

    def prompt_grids(self, seed: int) -> dict[str, torch.Tensor]:
        if not self.val_image_reference:
            raise ConfigError("ViCo: sampling val_prompts needs a reference image of the concept: set "
                              "model.val_image_reference=PATH (one image, or one per prompt)")
        references = load_images(self.val_image_reference, self.image_size, "ViCo") * 2 - 1
        return {prompt: self.generate([prompt], references[index:index + 1], seed=seed + index,
                                      num_images_per_prompt=self.num_images_per_prompt)
                for index, prompt in enumerate(self.val_prompts)}

    @torch.no_grad()
    def generate(self, prompts: list[str], references: torch.Tensor, *, seed: int,
                 num_images_per_prompt: int = 1) -> torch.Tensor:
        """N×3×H×W images in [-1, 1] for ``prompts`` guided by ``references`` (one per prompt, [-1, 1]),
        as MMagic's ``infer``: each step runs the UNet for the empty prompt and for the prompt, both with
        the prompt's placeholder positions, and combines them by classifier-free guidance."""
        prompts = [prompt for prompt in prompts for _ in range(num_images_per_prompt)]
        references = references.to(self.device).repeat_interleave(num_images_per_prompt, 0)
        reference_latents = self.encode_images(references, torch.Generator(self.device).manual_seed(int(seed)))
        ids = self.token_ids(prompts)
        text, empty = self.text_encoder(ids)[0].float(), self.encode_prompts([""] * len(prompts))

        def predict(index: int, step: Any, latents: torch.Tensor) -> torch.Tensor:
            conditional, _ = self.unet_with_reference(latents, reference_latents, step, text, ids)
            if self.guidance_scale <= 1:
                return conditional
            unconditional, _ = self.unet_with_reference(latents, reference_latents, step, empty, ids)
            return unconditional + self.guidance_scale * (conditional - unconditional)

        return denoise(self, self.test_scheduler, len(prompts), seed, self.num_inference_steps, predict)

    def adapt_loaded_weights(self, weights: dict) -> dict:
        """An MMagic ViCo checkpoint (its wrappers' ``unet.model.…`` layout) as this model's keys."""
        return mmagic_keys_as_own(weights, self.state_dict())

    def pipeline_parts(self) -> tuple[str, dict[str, Any]]:
        """Textual Inversion's pipeline with the plain UNet (its weights without the image
        cross-attentions, which diffusers' UNet has no place for)."""
        name, parts = super().pipeline_parts()
        unet = unwrap(self.unet)
        plain = type(unet).from_config(unet.config)
        plain.load_state_dict({key: value for key, value in unet.state_dict().items() if IMAGE_CROSS not in key})
        return name, {**parts, "unet": plain}

    def save_pretrained(self, folder: Any) -> Any:
        """The diffusers folder (``pipeline_parts``, ``learned_embeds.safetensors``) and
        ``image_cross_attention.safetensors``: the image cross-attentions' weights under the UNet's keys."""
        from safetensors.torch import save_file

        path = super().save_pretrained(folder)
        extra = {key: value.detach().cpu().contiguous() for key, value in unwrap(self.unet).state_dict().items()
                 if IMAGE_CROSS in key}
        save_file(extra, str(path / "image_cross_attention.safetensors"))
        return path
