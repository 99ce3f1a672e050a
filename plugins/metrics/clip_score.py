"""CLIP score (Hessel et al. 2021): how well generated images match their prompts.

For each (image, prompt) pair, with CLIP's projected image and text embeddings e_I, e_T:
``score = weight · max(cos(e_I, e_T), 0)``; the metric is the mean over all pairs of the evaluated set
(summed in float64 over all processes, so any number of processes gives the same value). ``weight=100``
is torchmetrics' convention (Hessel et al. use 2.5). Images come from ``model.val_step`` (``fake_img``,
[0, 255]) with their ``prompt``; CLIP (``transformers.CLIPModel``) is loaded by hub name or local folder
and sees the images resized (bicubic) to its input size and normalised with its mean and std.
Needs the ``diffusion`` extra.
"""
from __future__ import annotations

from typing import Any

import torch
from torch.nn import functional as F

from mgx.core.errors import ConfigError, MgxError
from mgx.core.evaluation import BaseMetric

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def clip_inputs(images: torch.Tensor, size: int, mean: Any = CLIP_MEAN, std: Any = CLIP_STD) -> torch.Tensor:
    """[0, 255] N×3×H×W → CLIP's normalised size×size input."""
    images = images.float() / 255.0
    if images.shape[-2:] != (size, size):
        images = F.interpolate(images, size=(size, size), mode="bicubic", align_corners=False, antialias=True)
    mean = torch.tensor(mean, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(std, device=images.device).view(1, 3, 1, 1)
    return (images.clamp(0, 1) - mean) / std


class CLIPScore(BaseMetric):
    default_prefix = "CLIPScore"
    uses_val_step = True
    directions = {"clip_score": "higher"}

    def __init__(self, clip_model: str = "openai/clip-vit-base-patch32", fake_key: str = "fake_img",
                 prompt_key: str = "prompt", weight: float = 100.0, prefix: str | None = None) -> None:
        super().__init__(prefix)
        if not isinstance(clip_model, str) or not clip_model:
            raise ConfigError(f"CLIPScore: clip_model must be a hub name or local folder, got {clip_model!r}")
        self.clip_model, self.fake_key, self.prompt_key, self.weight = clip_model, fake_key, prompt_key, float(weight)
        self._model = self._tokenizer = None
        self.add_sum_state("_sum", (2,))  # [Σ scores, count], summed over processes before compute

    def result_keys(self) -> list[str]:
        return ["clip_score"]

    def prepare_resources(self) -> None:
        if self._model is not None:
            return
        import transformers

        from mgx.plugins.models.stable_diffusion.hub import load_pretrained

        self._model = load_pretrained(transformers.CLIPModel.from_pretrained, self.clip_model, None, "CLIPScore")
        self._model.eval().requires_grad_(False)
        self._tokenizer = load_pretrained(transformers.CLIPTokenizer.from_pretrained, self.clip_model, None,
                                          "CLIPScore")

    def setup(self, ctx) -> None:
        self.prepare_resources()
        self._model.to(ctx.device)

    @torch.no_grad()
    def scores(self, images: torch.Tensor, prompts: list[str]) -> torch.Tensor:
        """``weight · max(cos(e_I, e_T), 0)`` per pair (float32 on the model's device)."""
        model = self._model
        device = next(model.parameters()).device
        size = model.config.vision_config.image_size
        tokens = self._tokenizer(list(prompts), padding="max_length", truncation=True,
                                 max_length=self._tokenizer.model_max_length, return_tensors="pt").to(device)
        image_features = model.get_image_features(pixel_values=clip_inputs(images.to(device), size))
        text_features = model.get_text_features(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"])
        image_features = getattr(image_features, "pooler_output", image_features)
        text_features = getattr(text_features, "pooler_output", text_features)
        cosine = F.cosine_similarity(image_features.float(), text_features.float(), dim=-1)
        return self.weight * cosine.clamp(min=0)

    def process(self, batch: dict, outputs: dict) -> None:
        images, prompts = outputs.get(self.fake_key), outputs.get(self.prompt_key, batch.get(self.prompt_key))
        if not isinstance(images, torch.Tensor) or images.dim() != 4:
            raise MgxError(f"CLIPScore: model.val_step must return {self.fake_key!r} images (N×3×H×W, [0, 255])")
        prompts = [prompts] if isinstance(prompts, str) else list(prompts or [])
        if len(prompts) != images.shape[0]:
            raise MgxError(f"CLIPScore: {images.shape[0]} images but {len(prompts)} prompts under "
                           f"{self.prompt_key!r}; val_step (or the batch) must give one prompt per image")
        values = self.scores(images, prompts).cpu().to(torch.float64)
        self._sum += torch.stack([values.sum(), torch.tensor(float(values.numel()), dtype=torch.float64)])

    def compute(self) -> dict[str, float]:
        total = self._sum
        return {"clip_score": float(total[0] / total[1]) if total[1] else float("nan")}
