"""The parts MMagic 1.2.0's FastComposer defines itself: the CLIP image encoder of the reference
subjects (a ``transformers`` CLIP vision model and its projection), the MLP that fuses a subject's
embedding into the text embedding of the word before its ``img`` token (``FastComposerPostfuseModule``:
MMagic's module and key names), and the subjects' preprocessing (padded to a square, resized)."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError

from ..stable_diffusion.hub import load_pretrained

# OpenAI CLIP's pixel statistics (MMagic's vision_processor)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class MLP(nn.Module):
    """LayerNorm → Linear → GELU → Linear, plus the input with ``use_residual`` (MMagic's ``MLP``)."""

    def __init__(self, in_dim: int, out_dim: int, hidden_dim: int, use_residual: bool = True) -> None:
        super().__init__()
        if use_residual and in_dim != out_dim:
            raise ConfigError(f"MLP: a residual MLP needs in_dim == out_dim, got {in_dim} and {out_dim}")
        self.layernorm = nn.LayerNorm(in_dim)
        self.fc1 = nn.Linear(in_dim, hidden_dim)
        self.fc2 = nn.Linear(hidden_dim, out_dim)
        self.use_residual = use_residual
        self.act_fn = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.fc2(self.act_fn(self.fc1(self.layernorm(x))))
        return out + x if self.use_residual else out


class FastComposerPostfuseModule(nn.Module):
    """MMagic's ``FastComposerPostfuseModule(embed_dim)``: for each ``img`` token, the text embedding
    t of the word before it and the subject's embedding o become LayerNorm(mlp2(mlp1([t, o]) + t))."""

    def __init__(self, embed_dim: int) -> None:
        super().__init__()
        self.mlp1 = MLP(embed_dim * 2, embed_dim, embed_dim, use_residual=False)
        self.mlp2 = MLP(embed_dim, embed_dim, embed_dim, use_residual=True)
        self.layer_norm = nn.LayerNorm(embed_dim)

    def fuse_fn(self, text_embeds: torch.Tensor, object_embeds: torch.Tensor) -> torch.Tensor:
        fused = self.mlp1(torch.cat([text_embeds, object_embeds], dim=-1)) + text_embeds
        return self.layer_norm(self.mlp2(fused))

    def forward(self, text_embeds: torch.Tensor, object_embeds: torch.Tensor, image_token_mask: torch.Tensor,
                num_objects: torch.Tensor) -> torch.Tensor:
        """``text_embeds`` (B×L×D) with the rows ``image_token_mask`` marks replaced, in order, by the fused
        embeddings of the first ``num_objects[b]`` of each row's ``object_embeds`` (B×M×1×D)."""
        batch, length, width = text_embeds.shape
        objects = object_embeds.to(text_embeds.dtype).reshape(batch * object_embeds.shape[1], -1)
        valid = torch.arange(object_embeds.shape[1], device=objects.device)[None, :] < num_objects[:, None]
        objects = objects[valid.flatten()]
        flat, marked = text_embeds.reshape(-1, width), image_token_mask.reshape(-1)
        if int(marked.sum()) != objects.shape[0]:
            raise ConfigError(f"FastComposer: {int(marked.sum())} 'img' tokens for {objects.shape[0]} subject images; "
                              f"give one reference image per 'img' in the prompt")
        flat = flat.masked_scatter(marked[:, None], self.fuse_fn(flat[marked], objects))
        return flat.reshape(batch, length, width)


class FastComposerCLIPImageEncoder(nn.Module):
    """MMagic's ``FastComposerCLIPImageEncoder``: B×M×3×h×w subject images in [0, 1] → resized to the
    CLIP vision model's side (bilinear), CLIP-normalised, its pooled output through
    ``visual_projection`` → B×M×1×D."""

    def __init__(self, vision_model: nn.Module, visual_projection: nn.Module) -> None:
        super().__init__()
        self.vision_model, self.visual_projection = vision_model, visual_projection
        self.image_size = int(vision_model.config.image_size)
        self.register_buffer("mean", torch.tensor(CLIP_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(CLIP_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, object_pixel_values: torch.Tensor) -> torch.Tensor:
        batch, count, channels, height, width = object_pixel_values.shape
        pixels = object_pixel_values.reshape(batch * count, channels, height, width)
        if (height, width) != (self.image_size, self.image_size):
            pixels = F.interpolate(pixels, (self.image_size, self.image_size), mode="bilinear")
        pooled = self.vision_model((pixels - self.mean) / self.std)[1]
        return self.visual_projection(pooled).reshape(batch, count, 1, -1)


def build_image_encoder(image_encoder: Any) -> FastComposerCLIPImageEncoder:
    """``pretrained_cfg.image_encoder``: a CLIP model's hub name or folder (its vision model and
    projection), or a ``CLIPVisionConfig`` dict (random weights, MMagic's 1024 → 768 projection)."""
    import transformers

    if isinstance(image_encoder, dict):
        vision = transformers.CLIPVisionModel(transformers.CLIPVisionConfig.from_dict(image_encoder))
        return FastComposerCLIPImageEncoder(vision, nn.Linear(1024, 768, bias=False))
    clip = load_pretrained(transformers.CLIPModel.from_pretrained, image_encoder, None,
                           "FastComposer.pretrained_cfg.image_encoder")
    return FastComposerCLIPImageEncoder(clip.vision_model, clip.visual_projection)


def object_pixels(image: torch.Tensor, resolution: int) -> torch.Tensor:
    """MMagic's object transforms without augmentation: a 3×H×W uint8 image zero-padded to a square
    (centred), resized to ``resolution`` (bilinear, antialiased) and scaled to [0, 1]."""
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms.functional import resize

    _, height, width = image.shape
    pad = abs(height - width) // 2
    if height > width:
        image = F.pad(image, (pad, pad, 0, 0))
    elif width > height:
        image = F.pad(image, (0, 0, pad, pad))
    image = resize(image, [resolution, resolution], interpolation=InterpolationMode.BILINEAR, antialias=True)
    return image.float() / 255.0 if image.dtype == torch.uint8 else image.float()
