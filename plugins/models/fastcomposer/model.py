"""FastComposer (Xiao et al. 2023, "FastComposer: Tuning-Free Multi-Subject Image Generation with
Localized Attention") under MMagic 1.2.0's name and arguments, inference as MMagic 1.2.0 has it: a
prompt such as ``'a man img and a woman img in a park'`` and one reference image per ``img``; each
subject's CLIP image embedding is fused into the text embedding of the word before its ``img``
(``FastComposerPostfuseModule``). Sampling uses the plain text prompt for the first (1 − alpha) of the
steps, the subject-augmented one after (MMagic's ``alpha_``)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from mgx.core.errors import ConfigError, MgxError

from ..stable_diffusion.mmagic_keys import mmagic_keys_as_own
from ..stable_diffusion.model import StableDiffusion
from ..stable_diffusion.sampling import denoise
from ..stable_diffusion.wrappers import load_tokenizer
from .modules import FastComposerPostfuseModule, build_image_encoder, object_pixels

IMAGE_TOKEN = "img"
PRETRAINED_KEYS = ("finetuned_model_path", "pretrained_model_name_or_path", "image_encoder", "object_resolution")


class FastComposer(StableDiffusion):
    """MMagic's ``FastComposer(pretrained_cfg, vae, text_encoder, tokenizer, unet, scheduler, test_scheduler=None,
    dtype='fp32', enable_xformers=True, noise_offset_weight=0, tomesd_cfg=None, data_preprocessor=...,
    init_cfg=None)``.

    ``pretrained_cfg``: ``image_encoder`` (CLIP hub name or folder), ``pretrained_model_name_or_path`` (whose
    ``tokenizer`` gains the ``img`` token), ``finetuned_model_path`` (FastComposer's published weights, a
    URL or file; fetched once into the weights cache), ``object_resolution``; its training keys (MMagic
    trains none of them) are kept. mgx's ``val_prompts``/``val_reference_images`` (the subject images: one
    list for every prompt, or one list per prompt) and ``alpha`` (MMagic's ``alpha_``, 0.7) make the
    sample grids of ``mgx run test``.
    """

    def __init__(self, pretrained_cfg: dict, vae: Any, text_encoder: Any, tokenizer: Any, unet: Any, scheduler: Any,
                 test_scheduler: Any = None, dtype: str | None = "fp32", enable_xformers: bool = True,
                 noise_offset_weight: float = 0, tomesd_cfg: dict | None = None, data_preprocessor: dict | None = None,
                 init_cfg: dict | None = None, val_reference_images: Any = None, alpha: float = 0.7,
                 **kwargs: Any) -> None:
        super().__init__(vae, text_encoder, tokenizer, unet, scheduler, test_scheduler, dtype=dtype,
                         enable_xformers=enable_xformers, noise_offset_weight=noise_offset_weight,
                         tomesd_cfg=tomesd_cfg, data_preprocessor=data_preprocessor, init_cfg=init_cfg, **kwargs)
        missing = [key for key in PRETRAINED_KEYS if not isinstance(pretrained_cfg, dict) or key not in pretrained_cfg]
        if missing:
            raise ConfigError(f"FastComposer: pretrained_cfg needs {', '.join(missing)} (MMagic's keys)")
        if not 0 <= float(alpha) <= 1:
            raise ConfigError(f"FastComposer: alpha must be in [0, 1], got {alpha!r}")
        self.pretrained_cfg, self.alpha = dict(pretrained_cfg), float(alpha)
        self.object_resolution = int(pretrained_cfg["object_resolution"])
        self.unet.requires_grad_(False)
        self.image_encoder = build_image_encoder(pretrained_cfg["image_encoder"]).requires_grad_(False)
        width = self.text_encoder.config.hidden_size
        projected = self.image_encoder.visual_projection.out_features
        if projected != width:
            raise ConfigError(f"FastComposer: the image encoder projects to {projected} but the text encoder's "
                              f"hidden_size is {width}; they must match")
        self.postfuse_module = FastComposerPostfuseModule(width).requires_grad_(False)
        self.special_tokenizer = load_tokenizer(pretrained_cfg["pretrained_model_name_or_path"], "FastComposer")
        self.special_tokenizer.add_tokens([IMAGE_TOKEN], special_tokens=True)
        self.image_token_id = self.special_tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
        if pretrained_cfg["finetuned_model_path"]:
            self.load_finetuned(str(pretrained_cfg["finetuned_model_path"]))
        self.val_reference_images = self._reference_lists(val_reference_images)

    def _reference_lists(self, images: Any) -> list[list[str]]:
        if not images:
            return []
        images = [images] if isinstance(images, str) else list(images)
        lists = [list(item) if isinstance(item, (list, tuple)) else [item] for item in images]
        if all(isinstance(item, str) for item in images):  # one flat list: every prompt's subjects
            lists = [images] * len(self.val_prompts)
        if len(lists) != len(self.val_prompts):
            raise ConfigError(f"FastComposer: val_reference_images has {len(lists)} lists for {len(self.val_prompts)} "
                              f"val_prompts; give one list of images for all, or one per prompt")
        return lists

    def load_finetuned(self, source: str) -> None:
        """FastComposer's published weights (keys of MMagic's ``FastComposerModel``: ``unet.``,
        ``text_encoder.``, ``image_encoder.``, ``postfuse_module.``), loaded over the pretrained parts as
        MMagic does (non-strict), but a file that fits none of them is an error."""
        from ..base_models.pretrained import local_checkpoint, read_weights_file

        if not source.startswith(("http://", "https://")) and not Path(os.path.expanduser(source)).is_file():
            raise ConfigError(f"FastComposer: pretrained_cfg.finetuned_model_path {source!r} does not exist")
        state = mmagic_keys_as_own(read_weights_file(local_checkpoint(source), "FastComposer"), self.state_dict())
        own = self.state_dict()
        fitting = {key: value for key, value in state.items() if key in own and own[key].shape == value.shape}
        if not fitting:
            raise ConfigError(f"FastComposer: no weight of finetuned_model_path {source} fits the model "
                              f"(keys such as {sorted(state)[:3]})")
        self.load_state_dict(fitting, strict=False)

    def adapt_loaded_weights(self, weights: dict) -> dict:
        return mmagic_keys_as_own(weights, self.state_dict())

    def train_step(self, batch: dict, optim: Any) -> dict[str, torch.Tensor]:
        raise MgxError("FastComposer is inference-only, as in MMagic 1.2.0: use `mgx run test CFG`")

    # -- prompts with subjects ----------------------------------------------------------------

    def augmented_ids(self, prompt: str) -> tuple[torch.Tensor, torch.Tensor]:
        """MMagic's ``_tokenize_and_mask_noun_phrases_ends``: the prompt's ids without its ``img`` tokens
        (padded or cut to the tokenizer's length) and the mask of the tokens each ``img`` followed."""
        ids = self.special_tokenizer.encode(prompt)
        kept, mask = [], [False] * len(ids)
        for token in ids:
            if token == self.image_token_id:
                mask[len(kept) - 1] = True
            else:
                kept.append(token)
        length = self.special_tokenizer.model_max_length
        kept = (kept + [self.tokenizer.pad_token_id] * length)[:length]
        mask = (mask + [False] * length)[:length]
        return torch.tensor([kept], device=self.device), torch.tensor([mask], device=self.device)

    def augmented_embedding(self, prompt: str, subjects: torch.Tensor) -> torch.Tensor:
        """1×L×D: the text embedding of ``prompt`` with its subjects (M×3×h×w in [0, 1]) fused in."""
        ids, mask = self.augmented_ids(prompt)
        objects = self.image_encoder(subjects.unsqueeze(0).to(self.device))
        count = torch.tensor([subjects.shape[0]], device=self.device)
        return self.postfuse_module(self.text_encoder(ids)[0].float(), objects.float(), mask, count)

    def subject_images(self, paths: list[str]) -> torch.Tensor:
        import numpy as np
        from PIL import Image

        images = []
        for path in paths:
            file = Path(str(path)).expanduser()
            if not file.is_file():
                raise ConfigError(f"FastComposer: reference image {path!r} does not exist")
            with Image.open(file) as image:
                rgb = torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1)
            images.append(object_pixels(rgb, self.object_resolution))
        return torch.stack(images)

    @torch.no_grad()
    def generate(self, prompt: str, subjects: torch.Tensor, *, seed: int, num_images_per_prompt: int = 1) -> torch.Tensor:
        """MMagic's ``infer``: images for ``prompt`` with its subjects; classifier-free guidance against
        the empty prompt, the text prompt (``img`` removed) for steps i ≤ (1 − alpha)·steps, the
        augmented one after; sampled with ``scheduler`` (MMagic's choice, not ``test_scheduler``)."""
        if self.guidance_scale <= 1:
            raise ConfigError("FastComposer: guidance_scale must be > 1 (MMagic samples with classifier-free guidance)")
        count = num_images_per_prompt
        empty = self.encode_prompts([""] * count)
        text = self.encode_prompts([prompt.replace(IMAGE_TOKEN, "")] * count)
        augmented = self.augmented_embedding(prompt, subjects).repeat(count, 1, 1)
        switch = (1 - self.alpha) * self.num_inference_steps

        def predict(index: int, step: Any, latents: torch.Tensor) -> torch.Tensor:
            condition = text if index <= switch else augmented
            both = self.unet(torch.cat([latents, latents]), step, encoder_hidden_states=torch.cat([empty, condition]))
            unconditional, conditional = both.sample.float().chunk(2)
            return unconditional + self.guidance_scale * (conditional - unconditional)

        return denoise(self, self.scheduler, count, seed, self.num_inference_steps, predict)

    def prompt_grids(self, seed: int) -> dict[str, torch.Tensor]:
        if not self.val_reference_images:
            raise ConfigError("FastComposer: sampling val_prompts needs the subjects' images: set "
                              "model.val_reference_images=[PATH, ...] (one per 'img' in the prompt)")
        return {prompt: self.generate(prompt, self.subject_images(paths), seed=seed + index,
                                      num_images_per_prompt=self.num_images_per_prompt)
                for index, (prompt, paths) in enumerate(zip(self.val_prompts, self.val_reference_images))}

    def val_step(self, batch: dict) -> dict[str, Any]:
        raise MgxError("FastComposer samples its val_prompts with val_reference_images (`mgx run test CFG`); "
                       "it takes no evaluation dataset")

    def pipeline_parts(self) -> tuple[str, dict[str, Any]]:
        raise MgxError("FastComposer has no diffusers pipeline (its subject encoder is not diffusers')")
