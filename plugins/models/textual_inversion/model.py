"""Textual Inversion (Gal et al. 2023) under MMagic 1.2.0's name and arguments: a new token
(``placeholder_token``, e.g. ``'<cat-toy>'``) is added to the tokenizer, and its embedding vectors are
the only weights trained; the UNet, VAE and the rest of the text encoder stay frozen."""
from __future__ import annotations

import copy
import re
from typing import Any

import torch
from torch import nn

from mgx.core.errors import ConfigError

from ..stable_diffusion.model import StableDiffusion, unwrap


class EmbeddingWithPlaceholders(nn.Module):
    """A token-embedding table (``wrapped``, frozen) followed by trainable rows: the vectors of each
    placeholder (``trainable_embeddings[name]``, MMagic's names) answer the token ids from ``start``
    on; every other id reads the wrapped table."""

    def __init__(self, wrapped: nn.Embedding) -> None:
        super().__init__()
        self.wrapped = wrapped
        self.num_embeddings = wrapped.num_embeddings
        self.trainable_embeddings = nn.ParameterDict()
        self.starts: dict[str, int] = {}

    @property
    def weight(self) -> torch.Tensor:
        return self.wrapped.weight

    def add(self, name: str, start: int, vectors: torch.Tensor) -> None:
        if start < self.num_embeddings:
            raise ConfigError(f"TextualInversion: the ids of {name!r} ({start}...) overlap the text encoder's "
                              f"{self.num_embeddings} embeddings")
        self.trainable_embeddings[name] = nn.Parameter(vectors.detach().clone())
        self.starts[name] = int(start)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out = self.wrapped(ids.clamp(max=self.num_embeddings - 1))
        for name, vectors in self.trainable_embeddings.items():
            local = ids - self.starts[name]
            inside = (local >= 0) & (local < vectors.shape[0])
            rows = vectors[local.clamp(0, vectors.shape[0] - 1)].to(out.dtype)
            out = torch.where(inside.unsqueeze(-1), rows, out)
        return out

    def merged(self) -> nn.Embedding:
        """A plain ``nn.Embedding`` holding the wrapped rows followed by every placeholder's vectors."""
        ordered = sorted(self.starts, key=self.starts.get)
        rows = [self.wrapped.weight.detach()] + [self.trainable_embeddings[name].detach() for name in ordered]
        table = torch.cat(rows)
        embedding = nn.Embedding(table.shape[0], table.shape[1])
        embedding.weight.data.copy_(table)
        return embedding


class TextualInversion(StableDiffusion):
    """MMagic's ``TextualInversion(placeholder_token, vae, text_encoder, tokenizer, unet, scheduler,
    test_scheduler=None, dtype=None, enable_xformers=True, noise_offset_weight=0, tomesd_cfg=None,
    initialize_token=None, num_vectors_per_token=1, val_prompts=None, data_preprocessor=..., init_cfg=None)``.

    With ``num_vectors_per_token`` = n > 1 the placeholder stands for n tokens ``'<tok>_0' ... '<tok>_{n-1}'``
    (MMagic's names), written out in every prompt. The new vectors start as ``initialize_token``'s
    embedding (zeros without one). MMagic's configs optimise ``modules='.*trainable_embeddings'``.
    """

    def __init__(self, placeholder_token: str, vae: Any, text_encoder: Any, tokenizer: Any, unet: Any,
                 scheduler: Any, test_scheduler: Any = None, dtype: str | None = None, enable_xformers: bool = True,
                 noise_offset_weight: float = 0, tomesd_cfg: dict | None = None, initialize_token: str | None = None,
                 num_vectors_per_token: int = 1, val_prompts: Any = None, data_preprocessor: dict | None = None,
                 init_cfg: dict | None = None, **kwargs: Any) -> None:
        super().__init__(vae, text_encoder, tokenizer, unet, scheduler, test_scheduler, dtype=dtype,
                         enable_xformers=enable_xformers, noise_offset_weight=noise_offset_weight,
                         tomesd_cfg=tomesd_cfg, data_preprocessor=data_preprocessor, init_cfg=init_cfg,
                         val_prompts=val_prompts, **kwargs)
        if not isinstance(placeholder_token, str) or not placeholder_token.strip():
            raise ConfigError(f"TextualInversion: placeholder_token must be a non-empty string, got {placeholder_token!r}")
        count = num_vectors_per_token
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ConfigError(f"TextualInversion: num_vectors_per_token must be a positive int, got {count!r}")
        self.placeholder_token, self.initialize_token = placeholder_token, initialize_token
        self.placeholder_tokens = [placeholder_token] if count == 1 else [f"{placeholder_token}_{i}" for i in range(count)]
        self.vae.requires_grad_(False)
        self.unet.requires_grad_(False)
        self.text_encoder.requires_grad_(False)
        self._add_placeholder(count)

    def _add_placeholder(self, count: int) -> None:
        known = self.tokenizer.get_vocab()
        taken = [token for token in self.placeholder_tokens if token in known]
        if taken:
            raise ConfigError(f"TextualInversion: the tokenizer already has the token(s) {taken}; choose another "
                              f"placeholder_token than {self.placeholder_token!r}")
        self.tokenizer.add_tokens(self.placeholder_tokens)
        ids = self.tokenizer.convert_tokens_to_ids(self.placeholder_tokens)
        table = self.text_encoder.get_input_embeddings()
        if ids != list(range(ids[0], ids[0] + count)):
            raise ConfigError(f"TextualInversion: the placeholder tokens got ids {ids}, not consecutive ones")
        if self.initialize_token:
            init_ids = self.tokenizer(self.initialize_token)["input_ids"][1:-1]  # without BOS/EOS
            if not init_ids:
                raise ConfigError(f"TextualInversion: initialize_token {self.initialize_token!r} has no tokens")
            # MMagic's rule: the first token of initialize_token
            vectors = table.weight.detach()[init_ids[0]].repeat(count, 1)
        else:
            vectors = torch.zeros(count, table.weight.shape[1])
        layer = EmbeddingWithPlaceholders(table)
        layer.add(self.placeholder_token, ids[0], vectors)
        self.text_encoder.set_input_embeddings(layer)

    def expand_placeholders(self, prompt: str) -> str:
        """``prompt`` with the placeholder written out as its n tokens (n > 1)."""
        if len(self.placeholder_tokens) == 1:
            return prompt
        return re.sub(re.escape(self.placeholder_token) + r"(?!_\d)", " ".join(self.placeholder_tokens), prompt)

    def token_ids(self, prompts: list[str]) -> torch.Tensor:
        return super().token_ids([self.expand_placeholders(prompt) for prompt in prompts])

    def learned_embeddings(self) -> dict[str, torch.Tensor]:
        """``{token: vector}`` of the trained placeholder tokens (diffusers' textual-inversion file format)."""
        layer = unwrap(self.text_encoder).get_input_embeddings()
        vectors = layer.trainable_embeddings[self.placeholder_token].detach().cpu()
        return {token: vectors[index].clone() for index, token in enumerate(self.placeholder_tokens)}

    def pipeline_parts(self) -> tuple[str, dict[str, Any]]:
        """The pipeline with a text encoder whose table holds the trained vectors (the tokenizer has
        the tokens): diffusers understands the placeholder in prompts without mgx."""
        name, parts = super().pipeline_parts()
        text_encoder = copy.deepcopy(unwrap(self.text_encoder))
        merged = text_encoder.get_input_embeddings().merged()
        text_encoder.set_input_embeddings(merged)
        text_encoder.config.vocab_size = merged.num_embeddings
        return name, {**parts, "text_encoder": text_encoder}

    def save_pretrained(self, folder: Any) -> Any:
        """The pipeline folder plus ``learned_embeds.safetensors`` (``pipeline.load_textual_inversion``
        reads it into another Stable Diffusion pipeline)."""
        from safetensors.torch import save_file

        path = super().save_pretrained(folder)
        save_file(self.learned_embeddings(), str(path / "learned_embeds.safetensors"))
        return path
