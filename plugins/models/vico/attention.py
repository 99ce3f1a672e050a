"""ViCo's image cross-attention patched into a diffusers ``UNet2DConditionModel`` (MMagic 1.2.0's
``set_vico_modules``): every ``Transformer2DModel`` becomes a :class:`ViCoTransformer2D` (the same
children, so the same state-dict keys) and the chosen ones gain ``image_cross_attention``, a
``BasicTransformerBlock`` in which the image's tokens attend to the reference image's tokens; every
``attn2`` (text cross-attention) keeps its attention probabilities, which locate the placeholder token.

The UNet runs on ``[images; references]`` (2B rows) with the same text for both halves. MMagic passes the
placeholder positions and collects the regularisation loss through rewritten block forwards; mgx keeps
diffusers' forwards and shares both through one :class:`ViCoState` that the patched modules read.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError


class ViCoCrossAttnProcessor:
    """Plain softmax attention that keeps its probabilities (``attn.attn_probs``, (B·heads)×Nq×Nk). A
    mask is added to the scores as diffusers' ``get_attention_scores`` adds it: ViCo's 0/1 object mask
    raises the object's keys by 1 (MMagic's behaviour)."""

    def __call__(self, attn: Any, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor | None = None,
                 attention_mask: torch.Tensor | None = None, **_: Any) -> torch.Tensor:
        batch, length, _ = hidden_states.shape
        attention_mask = attn.prepare_attention_mask(attention_mask, length, batch)
        context = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        query = attn.head_to_batch_dim(attn.to_q(hidden_states))
        key = attn.head_to_batch_dim(attn.to_k(context))
        value = attn.head_to_batch_dim(attn.to_v(context))
        probs = attn.get_attention_scores(query, key, attention_mask)
        attn.attn_probs = probs
        out = attn.batch_to_head_dim(torch.bmm(probs, value))
        return attn.to_out[1](attn.to_out[0](out))


def otsu(maps: torch.Tensor) -> torch.Tensor:
    """MMagic's Otsu binarisation of each row of ``maps`` (K×N): normalised to [0, 1], the threshold
    t/10 (t = 0..9) of largest between-class variance (the first on ties; 0 when none is positive);
    values below it become 0, above it 1 (equal ones stay)."""
    low_value = maps.min(-1, keepdim=True)[0]
    normed = (maps - low_value) / (maps.max(-1, keepdim=True)[0] - low_value)
    thresholds = torch.arange(10, dtype=normed.dtype, device=normed.device) / 10
    below = normed.unsqueeze(1) < thresholds[None, :, None]  # K×10×N
    count_low = below.sum(-1).to(normed.dtype)
    count_high = normed.shape[-1] - count_low
    mean_low = (normed.unsqueeze(1) * below).sum(-1) / count_low
    mean_high = (normed.unsqueeze(1) * ~below).sum(-1) / count_high
    variance = count_low / normed.shape[-1] * count_high / normed.shape[-1] * (mean_low - mean_high) ** 2
    variance = torch.nan_to_num(variance, nan=0.0)
    best = variance.argmax(-1)
    threshold = torch.where(variance.gather(-1, best[:, None])[:, 0] > 0, thresholds[best],
                            torch.zeros_like(thresholds[best]))[:, None]
    ones = torch.ones_like(normed)
    return torch.where(normed < threshold, torch.zeros_like(normed), torch.where(normed > threshold, ones, normed))


@dataclass
class ViCoState:
    """What one UNet call shares with its patched modules: the placeholder's and the end-of-text
    token's positions (``(batch index, token index)`` pairs of the B text rows) and the regularisation
    losses the image cross-attentions add while their module trains."""

    placeholder_position: tuple | None = None
    end_of_text_position: tuple | None = None
    losses: list = field(default_factory=list)

    def begin(self, placeholder_position: tuple, end_of_text_position: tuple) -> None:
        self.placeholder_position, self.end_of_text_position = placeholder_position, end_of_text_position
        self.losses = []


class ViCoTransformer2D(nn.Module):
    """MMagic's ``ViCoTransformer2D``: a continuous-input ``Transformer2DModel``'s children
    (``norm``, ``proj_in``, ``transformer_blocks``, ``proj_out``) and, with ``have_image_cross``,
    ``image_cross_attention``."""

    def __init__(self, original: nn.Module, have_image_cross: bool, state: ViCoState) -> None:
        super().__init__()
        if not getattr(original, "is_input_continuous", False):
            raise ConfigError("ViCo: the UNet's transformers must take continuous (image-feature) inputs")
        self.norm, self.proj_in = original.norm, original.proj_in
        self.transformer_blocks, self.proj_out = original.transformer_blocks, original.proj_out
        self.use_linear_projection = original.use_linear_projection
        self.have_image_cross = bool(have_image_cross)
        self.__dict__["state"] = state  # shared, not a child module
        if self.have_image_cross:
            from diffusers.models.attention import BasicTransformerBlock

            heads, head_dim = original.num_attention_heads, original.attention_head_dim
            width = heads * head_dim
            self.image_cross_attention = BasicTransformerBlock(width, heads, head_dim, cross_attention_dim=width)
            self.image_cross_attention.to(original.proj_in.weight.dtype)

    def forward(self, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor | None = None,
                timestep: Any = None, added_cond_kwargs: Any = None, class_labels: Any = None,
                cross_attention_kwargs: dict | None = None, attention_mask: Any = None,
                encoder_attention_mask: Any = None, return_dict: bool = True) -> Any:
        batch, _, height, width = hidden_states.shape
        residual = hidden_states
        tokens = self.norm(hidden_states)
        if not self.use_linear_projection:
            tokens = self.proj_in(tokens)
        inner = tokens.shape[1]
        tokens = tokens.permute(0, 2, 3, 1).reshape(batch, height * width, inner)
        if self.use_linear_projection:
            tokens = self.proj_in(tokens)
        for block in self.transformer_blocks:
            tokens = block(tokens, attention_mask=attention_mask, encoder_hidden_states=encoder_hidden_states,
                           encoder_attention_mask=encoder_attention_mask, timestep=timestep,
                           cross_attention_kwargs=cross_attention_kwargs, class_labels=class_labels)
            if self.have_image_cross:
                tokens = self._attend_reference(tokens, block.attn2.attn_probs, batch, attention_mask,
                                                timestep, cross_attention_kwargs, class_labels)
        if self.use_linear_projection:
            tokens = self.proj_out(tokens)
        tokens = tokens.reshape(batch, height, width, inner).permute(0, 3, 1, 2).contiguous()
        if not self.use_linear_projection:
            tokens = self.proj_out(tokens)
        output = tokens + residual
        if not return_dict:
            return (output,)
        from diffusers.models.modeling_outputs import Transformer2DModelOutput

        return Transformer2DModelOutput(sample=output)

    def _attend_reference(self, tokens: torch.Tensor, probs: torch.Tensor, batch: int, attention_mask: Any,
                          timestep: Any, cross_attention_kwargs: Any, class_labels: Any) -> torch.Tensor:
        """The image half attends to the reference half, keys raised where the placeholder's attention
        (Otsu-binarised) lies. As MMagic: the maps are rows B..2B-1 of the (2B·heads) text-attention
        probabilities; their normalised MSE to the end-of-text token's is the regulariser."""
        maps = probs[batch // 2:batch].transpose(1, 2)  # B×tokens×pixels
        placeholder = maps[self.state.placeholder_position]
        if self.image_cross_attention.training:
            end_of_text = maps[self.state.end_of_text_position].detach()
            self.state.losses.append(F.mse_loss(placeholder / placeholder.max(-1, keepdim=True)[0],
                                                end_of_text / end_of_text.max(-1, keepdim=True)[0]))
        mask = otsu(placeholder.detach()).unsqueeze(1)
        images, references = tokens[:batch // 2], tokens[batch // 2:]
        images = self.image_cross_attention(images, attention_mask=attention_mask, encoder_hidden_states=references,
                                            encoder_attention_mask=mask.to(images.dtype), timestep=timestep,
                                            cross_attention_kwargs=cross_attention_kwargs, class_labels=class_labels)
        return torch.cat([images, references])


def set_vico_modules(unet: nn.Module, image_cross_layers: list, state: ViCoState) -> None:
    """MMagic's ``set_vico_modules``: the UNet's ``Transformer2DModel``s, in ``named_modules`` order, become
    ``ViCoTransformer2D`` (``image_cross_layers[i]`` truthy: with image cross-attention); then every
    ``attn2`` keeps its probabilities (``ViCoCrossAttnProcessor``)."""
    from diffusers import Transformer2DModel

    found = [(name, module) for name, module in unet.named_modules() if isinstance(module, Transformer2DModel)]
    if len(image_cross_layers) != len(found):
        raise ConfigError(f"ViCo: image_cross_layers has {len(image_cross_layers)} entries but the UNet has "
                          f"{len(found)} transformers ({', '.join(name for name, _ in found)}); give one 0/1 each")
    for (name, module), flag in zip(found, image_cross_layers):
        parent, _, child = name.rpartition(".")
        setattr(unet.get_submodule(parent), child, ViCoTransformer2D(module, flag, state))
    for name, module in unet.named_modules():
        if name.endswith("attn2"):
            module.set_processor(ViCoCrossAttnProcessor())
