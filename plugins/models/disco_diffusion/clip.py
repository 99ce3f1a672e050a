"""The CLIP models of disco diffusion's ``clip_models``: MMagic's ``ClipWrapper(clip_type='clip',
name='ViT-B/32')`` (OpenAI's ``clip`` package) as the same OpenAI weights in ``transformers``, or any local
folder or hub name of a ``transformers.CLIPModel`` (with its tokenizer)."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from mgx.core.errors import ConfigError

from ..stable_diffusion.hub import load_pretrained

# OpenAI's CLIP package names -> the same weights on the Hugging Face hub
OPENAI_NAMES = {"ViT-B/32": "openai/clip-vit-base-patch32", "ViT-B/16": "openai/clip-vit-base-patch16",
                "ViT-L/14": "openai/clip-vit-large-patch14", "ViT-L/14@336px": "openai/clip-vit-large-patch14-336"}


class DiscoClip(nn.Module):
    """A frozen ``transformers.CLIPModel``: ``encode_text(prompts)`` and ``encode_image(pixels)`` give the
    projected embeddings (OpenAI's ``encode_text``/``encode_image``); ``input_resolution`` its image side."""

    def __init__(self, name: str, jit: bool = False, **unused: Any) -> None:
        super().__init__()
        import transformers

        if str(name).startswith("RN"):
            raise ConfigError(f"ClipWrapper(clip_type='clip', name={name!r}): OpenAI's ResNet CLIPs have no "
                              f"transformers port; leave it out of clip_models or name a transformers CLIP "
                              f"({', '.join(OPENAI_NAMES)} or a folder)")
        source = OPENAI_NAMES.get(str(name), name)
        self.model = load_pretrained(transformers.CLIPModel.from_pretrained, source, None, "ClipWrapper")
        self.tokenizer = load_pretrained(transformers.CLIPTokenizer.from_pretrained, source, None, "ClipWrapper")
        self.model.eval().requires_grad_(False)
        self.input_resolution = int(self.model.config.vision_config.image_size)

    def encode_text(self, prompts: list[str]) -> torch.Tensor:
        tokens = self.tokenizer(prompts, padding="max_length", truncation=True, return_tensors="pt")
        device = next(self.model.parameters()).device
        features = self.model.get_text_features(input_ids=tokens.input_ids.to(device),
                                                attention_mask=tokens.attention_mask.to(device))
        return getattr(features, "pooler_output", features)  # (transformers 5 returns the output object)

    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        features = self.model.get_image_features(pixel_values=pixels)
        return getattr(features, "pooler_output", features)


def build_clip(cfg: Any) -> nn.Module:
    """``ClipWrapper(clip_type='clip', name=..., jit=...)`` → :class:`DiscoClip`; a module passes through."""
    if isinstance(cfg, nn.Module):
        return cfg
    if not isinstance(cfg, dict) or cfg.get("type") != "ClipWrapper" or cfg.get("clip_type") != "clip":
        raise ConfigError(f"DiscoDiffusion: each of clip_models must be dict(type='ClipWrapper', clip_type='clip', "
                          f"name=...), got {cfg!r}")
    if "name" not in cfg:
        raise ConfigError(f"DiscoDiffusion: clip model {cfg!r} needs name= (e.g. 'ViT-B/32' or a CLIP folder)")
    return DiscoClip(**{key: value for key, value in cfg.items() if key not in ("type", "clip_type")})
