"""Token merging for Stable Diffusion (Bolya & Hoffman 2023, the ``tomesd`` package MMagic's
``tomesd_cfg=dict(ratio=0.5)`` applies), on diffusers' UNet.

Before each self-attention of a transformer block at the UNet's highest resolutions
(``max_downsample``), the block's N tokens (the latent's h × w positions) are split into destinations,
one per ``sy`` × ``sx`` cell (a random position of the cell, or its first with ``use_rand=False``), and
sources (the rest); the ``r = ratio · N`` sources most similar (cosine of the attention's inputs; tomesd
measures the block's input before its norm) to their best destination are
averaged into it (``scatter_reduce`` mean, the destination included); attention runs on the N − r
tokens left; afterwards every merged source takes its destination's output. Forward hooks on the
attention layers do it, so the UNet's weights and state-dict keys are untouched. The random cells are
drawn from a generator seeded by the UNet call's timestep (no global random state is drawn).
"""
from __future__ import annotations

import math
from typing import Any, Callable

import torch
from torch import nn

from mgx.core.errors import ConfigError

OPTIONS = ("ratio", "max_downsample", "sx", "sy", "use_rand", "merge_attn", "merge_crossattn", "merge_mlp")


def bipartite_merge(metric: torch.Tensor, h: int, w: int, sx: int, sy: int, r: int,
                    generator: torch.Generator | None) -> tuple[Callable, Callable]:
    """(merge, unmerge) for B × N × C tokens of an h × w grid: ``r`` sources averaged into destinations."""
    batch, count, _ = metric.shape
    if r <= 0:
        return (lambda x: x), (lambda x: x)
    cells_h, cells_w = h // sy, w // sx
    if generator is not None:
        chosen = torch.randint(sy * sx, (cells_h, cells_w, 1), generator=generator).to(metric.device)
    else:
        chosen = torch.zeros(cells_h, cells_w, 1, dtype=torch.int64, device=metric.device)
    marks = torch.zeros(cells_h, cells_w, sy * sx, dtype=torch.int64, device=metric.device)
    marks.scatter_(2, chosen, -1)  # -1 marks each cell's destination
    marks = marks.view(cells_h, cells_w, sy, sx).transpose(1, 2).reshape(cells_h * sy, cells_w * sx)
    grid = torch.zeros(h, w, dtype=torch.int64, device=metric.device)
    grid[:cells_h * sy, :cells_w * sx] = marks  # positions outside whole cells stay sources
    order = grid.reshape(1, -1, 1).argsort(dim=1, stable=True)
    num_dst = cells_h * cells_w
    src_pos, dst_pos = order[:, num_dst:, :], order[:, :num_dst, :]

    def split(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        channels = x.shape[-1]
        return (x.gather(1, src_pos.expand(batch, count - num_dst, channels)),
                x.gather(1, dst_pos.expand(batch, num_dst, channels)))

    with torch.no_grad():
        normed = metric / metric.norm(dim=-1, keepdim=True)
        a, b = split(normed)
        best, best_dst = (a @ b.transpose(-1, -2)).max(dim=-1)
        ranked = best.argsort(dim=-1, descending=True, stable=True)[..., None]
        r = min(a.shape[1], r)
        kept, merged = ranked[..., r:, :], ranked[..., :r, :]
        into = best_dst[..., None].gather(1, merged)

    def merge(x: torch.Tensor) -> torch.Tensor:
        src, dst = split(x)
        channels = x.shape[-1]
        unmerged = src.gather(1, kept.expand(batch, kept.shape[1], channels))
        moved = src.gather(1, merged.expand(batch, r, channels))
        dst = dst.scatter_reduce(1, into.expand(batch, r, channels), moved, reduce="mean")
        return torch.cat([unmerged, dst], dim=1)

    def unmerge(x: torch.Tensor) -> torch.Tensor:
        channels = x.shape[-1]
        unmerged, dst = x[:, :kept.shape[1]], x[:, kept.shape[1]:]
        out = x.new_zeros(batch, count, channels)
        out.scatter_(1, dst_pos.expand(batch, num_dst, channels), dst)
        src_of = src_pos.expand(batch, src_pos.shape[1], 1)
        out.scatter_(1, src_of.gather(1, kept).expand(batch, kept.shape[1], channels), unmerged)
        out.scatter_(1, src_of.gather(1, merged).expand(batch, r, channels),
                     dst.gather(1, into.expand(batch, r, channels)))
        return out

    return merge, unmerge


def apply_token_merging(unet: nn.Module, config: dict) -> list[str]:
    """Hook token merging into ``unet`` per MMagic's ``tomesd_cfg``; returns the attention layers hooked."""
    if not isinstance(config, dict) or set(config) - set(OPTIONS):
        raise ConfigError(f"tomesd_cfg must be a dict of {', '.join(OPTIONS)}, got {config!r}")
    ratio = config.get("ratio", 0.5)
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 <= ratio < 1:
        raise ConfigError(f"tomesd_cfg.ratio must be in [0, 1), got {ratio!r}")
    if config.get("merge_crossattn") or config.get("merge_mlp"):
        raise ConfigError("tomesd_cfg: merge_crossattn and merge_mlp are not supported; merge_attn only")
    state: dict[str, Any] = {}
    settings = dict(ratio=float(ratio), max_downsample=int(config.get("max_downsample", 1)),
                    sx=int(config.get("sx", 2)), sy=int(config.get("sy", 2)), use_rand=bool(config.get("use_rand", True)))

    def remember_size(module: nn.Module, args: tuple, kwargs: dict) -> None:
        sample = args[0] if args else kwargs["sample"]
        step = args[1] if len(args) > 1 else kwargs.get("timestep", 0)
        state["size"] = tuple(sample.shape[-2:])
        state["seed"] = int(torch.as_tensor(step).flatten()[0].item()) if settings["use_rand"] else None

    unet.register_forward_pre_hook(remember_size, with_kwargs=True)
    hooked = []
    for name, module in unet.named_modules():
        if type(module).__name__ == "BasicTransformerBlock" and config.get("merge_attn", True):
            _hook_self_attention(module.attn1, state, settings)
            hooked.append(f"{name}.attn1")
    return hooked


def _hook_self_attention(attention: nn.Module, state: dict, settings: dict) -> None:
    def merge_input(module: nn.Module, args: tuple, kwargs: dict) -> tuple:
        hidden = args[0] if args else kwargs["hidden_states"]
        h, w = state.get("size", (0, 0))
        downsample = math.ceil(math.sqrt(h * w / hidden.shape[1])) if hidden.shape[1] else 0
        if not h or downsample > settings["max_downsample"]:
            module._unmerge = None
            return args, kwargs
        generator = torch.Generator().manual_seed(state["seed"]) if state.get("seed") is not None else None
        merge, module._unmerge = bipartite_merge(hidden, math.ceil(h / downsample), math.ceil(w / downsample),
                                                 settings["sx"], settings["sy"], int(hidden.shape[1] * settings["ratio"]),
                                                 generator)
        if args:
            return (merge(hidden), *args[1:]), kwargs
        return args, {**kwargs, "hidden_states": merge(hidden)}

    def unmerge_output(module: nn.Module, args: tuple, kwargs: dict, output: torch.Tensor) -> torch.Tensor:
        unmerge, module._unmerge = getattr(module, "_unmerge", None), None
        return unmerge(output) if unmerge is not None else output

    attention.register_forward_pre_hook(merge_input, with_kwargs=True)
    attention.register_forward_hook(unmerge_output, with_kwargs=True)
