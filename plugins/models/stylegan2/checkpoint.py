"""MMagic 1.2.0 StyleGAN2 state dicts -> mgx's ``StyleGAN2`` state dict.

MMagic stores equalized-LR weights as ``<name>_orig`` (its forward pre-hook
computes ``<name>``), wraps linear layers in ``.linear``, builds discriminator
conv layers as ``nn.Sequential`` (``[Blur,] EqualizedLRConvModule, FusedBiasLeakyReLU``)
and keeps blur kernels as buffers. The rules, applied in order to every key:

=================================================  ==========================================
MMagic key                                           mgx key
=================================================  ==========================================
``generator_ema.<k>`` (MMGen-era, no ``module.``)    ``generator_ema.module.<k>``
``…​.kernel`` (blur / up-sampling FIR kernels)        dropped (mgx recomputes them from ``blur_kernel``)
``D.<conv>.<i>.conv.weight_orig``                    ``D.<conv>.weight`` (``<conv>`` = ``convs.<j>``,
                                                     ``convs.<j>.conv1|conv2|skip``, ``final_conv``)
``D.<conv>.<i>.bias``                                ``D.<conv>.bias``
``….linear.weight_orig``                             ``….weight``
``….weight_orig``                                    ``….weight``
=================================================  ==========================================

``D`` is ``discriminator``. Keys mgx has and MMagic lacks — ``train_iter`` and, for
an MMGen-era file, ``generator_ema.steps`` — start at 0. Shapes are unchanged
(modulated-conv weights stay 1×O×I×k×k).
"""
from __future__ import annotations

import re

import torch

_DISC_CONV = r"^(discriminator\.(?:convs\.\d+(?:\.(?:conv1|conv2|skip))?|final_conv))"
_RULES = (
    (re.compile(_DISC_CONV + r"\.\d+\.conv\.weight_orig$"), r"\1.weight"),
    (re.compile(_DISC_CONV + r"\.\d+\.bias$"), r"\1.bias"),
    (re.compile(r"\.linear\.weight_orig$"), ".weight"),
    (re.compile(r"\.weight_orig$"), ".weight"),
)


def is_mmagic_state(weights: dict) -> bool:
    return any(key.endswith("_orig") for key in weights)


def convert_mmagic_state_dict(weights: dict) -> dict:
    converted: dict = {}
    for key, value in weights.items():
        if key.endswith(".kernel") or key.startswith("data_preprocessor."):
            continue
        if key.startswith("generator_ema.") and not key.startswith(("generator_ema.module.",)) \
                and key != "generator_ema.steps":
            key = "generator_ema.module." + key[len("generator_ema."):]
        for pattern, replacement in _RULES:
            new_key, count = pattern.subn(replacement, key)
            if count:
                key = new_key
                break
        converted[key] = value
    converted.setdefault("train_iter", torch.zeros((), dtype=torch.long))
    if any(key.startswith("generator_ema.module.") for key in converted):
        converted.setdefault("generator_ema.steps", torch.zeros((), dtype=torch.long))
    return converted


def network_weights(weights: dict, network: str = "generator") -> dict:
    """A StyleGAN2 network's state dict in mgx's layout, from MMagic's (``weight_orig``, ``.linear``, FIR
    kernels) or mgx's (an EMA copy's ``module.`` dropped); ``network``: its name in a StyleGAN2 model."""
    weights = {k[len("module."):] if k.startswith("module.") else k: v for k, v in weights.items()}
    if not is_mmagic_state(weights):
        return weights
    converted = convert_mmagic_state_dict({f"{network}.{k}": v for k, v in weights.items()})
    return {k[len(network) + 1:]: v for k, v in converted.items() if k.startswith(f"{network}.")}
