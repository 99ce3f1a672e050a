"""LoRA as MMagic configures it (``lora_config=dict(target_modules=[...], rank=4, scale=1)``).

Each matched ``nn.Linear`` keeps its own weight and gains a child ``lora_mapping`` (``down`` rank×in,
``up`` out×rank, ``up`` zero so training starts from the base model): output = linear(x) +
scale · up(down(x)). The mapping is a *child* of the Linear, not a replacement, so the base weights
keep diffusers' key names, and ``optim_wrapper.modules='.*.lora_mapping'`` (MMagic's regex) finds it.
``merged_state_dict`` folds the mappings into the weights for a plain diffusers folder.
"""
from __future__ import annotations

import re
from typing import Any

import torch
from torch import nn

from mgx.core.errors import ConfigError


class LoRAMapping(nn.Module):
    def __init__(self, in_features: int, out_features: int, rank: int, scale: float) -> None:
        super().__init__()
        if not 0 < rank < min(in_features, out_features):
            raise ConfigError(f"lora_config: rank must be in 1..{min(in_features, out_features) - 1} for a "
                              f"{in_features}→{out_features} layer, got {rank}")
        self.scale = float(scale)
        self.down = nn.Linear(in_features, rank, bias=False)
        self.up = nn.Linear(rank, out_features, bias=False)
        nn.init.normal_(self.down.weight, std=1.0 / rank)
        nn.init.zeros_(self.up.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(self.down(x.to(self.down.weight.dtype))).to(x.dtype) * self.scale

    def delta_weight(self) -> torch.Tensor:
        return self.scale * self.up.weight @ self.down.weight


def _add_lora_output(linear: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor:
    return output + linear.lora_mapping(inputs[0])


def _targets(config: dict) -> list[tuple[str, int, float]]:
    if not isinstance(config, dict) or "target_modules" not in config:
        raise ConfigError(f"lora_config must be dict(target_modules=[...], rank=4, scale=1), got {config!r}")
    unknown = set(config) - {"target_modules", "rank", "scale"}
    if unknown:
        raise ConfigError(f"lora_config has unknown key(s) {sorted(unknown)}; accepted: target_modules, rank, scale")
    rank, scale = config.get("rank", 4), config.get("scale", 1)
    modules = config["target_modules"]
    targets = []
    for target in modules if isinstance(modules, (list, tuple)) else [modules]:
        if isinstance(target, str):
            targets.append((target, rank, scale))
        elif isinstance(target, dict) and "target_module" in target:
            targets.append((target["target_module"], target.get("rank", rank), target.get("scale", scale)))
        else:
            raise ConfigError(f"lora_config.target_modules: each item is a name/regex or "
                              f"dict(target_module=..., rank=..., scale=...), got {target!r}")
    return targets


def set_lora(module: nn.Module, config: dict) -> list[str]:
    """Add LoRA mappings to the Linear layers whose qualified name fully matches or ends with a target
    (MMagic's rule); returns the names. No match is a ConfigError."""
    matched = []
    for name, child in list(module.named_modules()):
        for pattern, rank, scale in _targets(config):
            if not (re.fullmatch(pattern, name) or name.endswith(pattern)):
                continue
            if not isinstance(child, nn.Linear):
                raise ConfigError(f"lora_config: {name!r} matches {pattern!r} but is a {type(child).__name__}, "
                                  f"not a Linear layer")
            child.lora_mapping = LoRAMapping(child.in_features, child.out_features, int(rank), scale)
            child.register_forward_hook(_add_lora_output)
            matched.append(name)
            break
    if not matched:
        raise ConfigError(f"lora_config: no layer matches target_modules {config.get('target_modules')!r}")
    return matched


def merged_state_dict(module: nn.Module) -> dict[str, Any]:
    """``module``'s state dict with every LoRA mapping folded into its Linear's weight (no lora keys)."""
    state = {key: value for key, value in module.state_dict().items() if ".lora_mapping." not in key}
    for name, child in module.named_modules():
        mapping = getattr(child, "lora_mapping", None)
        if isinstance(mapping, LoRAMapping):
            key = f"{name}.weight"
            state[key] = state[key] + mapping.delta_weight().to(state[key].dtype)
    return state
