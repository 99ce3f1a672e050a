"""MMEngine's ``paramwise_cfg``: per-parameter learning-rate and weight-decay multipliers.

For each parameter (named ``prefix.name`` from the module the optimizer covers):

- ``custom_keys={'substring': dict(lr_mult=..., decay_mult=...)}``: the longest
  matching substring (ties: alphabetical) decides, and the rules below do not apply;
- otherwise ``bias_lr_mult`` for biases (not of norm layers), and for weight
  decay the first that applies of ``norm_decay_mult`` (parameters of BatchNorm,
  InstanceNorm, GroupNorm, LayerNorm), ``bias_decay_mult``, ``dwconv_decay_mult``
  (depth-wise convolutions), ``flat_decay_mult`` (other 1-d parameters).

Parameters with the same resulting (lr, weight_decay) share one group.
"""
from __future__ import annotations

from typing import Any

from mgx.core.errors import ConfigError

MULTIPLIERS = ("bias_lr_mult", "bias_decay_mult", "norm_decay_mult", "dwconv_decay_mult", "flat_decay_mult")
ACCEPTED = ("custom_keys", *MULTIPLIERS, "bypass_duplicate")
CUSTOM_KEY_FIELDS = ("lr_mult", "decay_mult")


def _validate(paramwise: dict, field: str) -> dict:
    from mgx.core.config.keys import likely_misspelling

    if not isinstance(paramwise, dict):
        raise ConfigError(f"{field} must be a dict, got {paramwise!r}")
    for key in paramwise:
        if key not in ACCEPTED:
            guess = likely_misspelling(key, ACCEPTED)
            hint = f" Did you mean {field}.{guess}?" if guess else ""
            raise ConfigError(f"{field}.{key} is not supported.{hint} Accepted: {', '.join(ACCEPTED)}")
    for key in MULTIPLIERS:
        value = paramwise.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ConfigError(f"{field}.{key}={value!r}: expected a number")
    custom = paramwise.get("custom_keys") or {}
    if not isinstance(custom, dict):
        raise ConfigError(f"{field}.custom_keys must be a dict of substring -> dict(lr_mult=..., decay_mult=...)")
    for key, spec in custom.items():
        if not isinstance(spec, dict) or set(spec) - set(CUSTOM_KEY_FIELDS):
            raise ConfigError(f"{field}.custom_keys[{key!r}] must be dict(lr_mult=..., decay_mult=...), got {spec!r}")
        for name, value in spec.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{field}.custom_keys[{key!r}].{name}={value!r}: expected a number")
    return paramwise


def _is_norm(module: Any) -> bool:
    import torch.nn as nn
    from torch.nn.modules.batchnorm import _BatchNorm
    from torch.nn.modules.instancenorm import _InstanceNorm

    return isinstance(module, (_BatchNorm, _InstanceNorm, nn.GroupNorm, nn.LayerNorm))


def _is_depthwise(module: Any) -> bool:
    import torch.nn as nn

    return isinstance(module, nn.Conv2d) and module.in_channels == module.groups and module.groups > 1


def parameter_settings(module: Any, base_lr: float | None, base_wd: float | None, paramwise: dict) -> list[tuple[str, Any, dict]]:
    """(name, parameter, {lr?, weight_decay?}) for every parameter of ``module``."""
    custom = paramwise.get("custom_keys") or {}
    ordered_keys = sorted(sorted(custom), key=len, reverse=True)
    result = []
    seen: set[int] = set()
    for module_name, sub in module.named_modules():
        for name, param in sub.named_parameters(recurse=False):
            if id(param) in seen:  # shared parameters belong to the first module that holds them
                continue
            seen.add(id(param))
            full = f"{module_name}.{name}" if module_name else name
            settings: dict = {}
            matched = next((key for key in ordered_keys if key in full), None)
            if matched is not None:
                spec = custom[matched]
                if base_lr is not None:
                    settings["lr"] = base_lr * spec.get("lr_mult", 1.0)
                if base_wd is not None and "decay_mult" in spec:
                    settings["weight_decay"] = base_wd * spec["decay_mult"]
            else:
                is_norm = _is_norm(sub)
                if name == "bias" and not is_norm and paramwise.get("bias_lr_mult") is not None and base_lr is not None:
                    settings["lr"] = base_lr * paramwise["bias_lr_mult"]
                if base_wd is not None:
                    mult = None
                    if is_norm and paramwise.get("norm_decay_mult") is not None:
                        mult = paramwise["norm_decay_mult"]
                    elif name == "bias" and paramwise.get("bias_decay_mult") is not None:
                        mult = paramwise["bias_decay_mult"]
                    elif _is_depthwise(sub) and paramwise.get("dwconv_decay_mult") is not None:
                        mult = paramwise["dwconv_decay_mult"]
                    elif param.ndim == 1 and paramwise.get("flat_decay_mult") is not None:
                        mult = paramwise["flat_decay_mult"]
                    if mult is not None:
                        settings["weight_decay"] = base_wd * mult
            result.append((full, param, settings))
    return result


def parameter_groups(module: Any, optimizer_cfg: Any, paramwise: dict | None, field: str) -> Any:
    """``module.parameters()`` when there is no paramwise_cfg, else groups of equal settings."""
    if not paramwise:
        return module.parameters()
    paramwise = _validate(paramwise, field)
    optimizer_cfg = optimizer_cfg if isinstance(optimizer_cfg, dict) else {}
    base_lr, base_wd = optimizer_cfg.get("lr"), optimizer_cfg.get("weight_decay")
    if paramwise.get("custom_keys") and base_lr is None:
        raise ConfigError(f"{field}.custom_keys needs the optimizer's lr to be set in the config")
    groups: dict[tuple, dict] = {}
    for _, param, settings in parameter_settings(module, base_lr, base_wd, paramwise):
        key = tuple(sorted(settings.items()))
        groups.setdefault(key, {"params": [], **settings})["params"].append(param)
    return list(groups.values())
