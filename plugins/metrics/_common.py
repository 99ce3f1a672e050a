"""Pieces shared by the metric classes: extractor choice, batched extraction, the cache agreement across ranks.

Rows gathered by index are a metric state (``BaseMetric.add_rows_state``, ``mgx.core.evaluation.metric_state``)."""
from __future__ import annotations

import torch

from mgx.core import distributed
from mgx.core.errors import ConfigError
from mgx.core.engine.optim import autocast
from mgx.core.registry import build
from mgx.plugins.feature_extractors.base import extractor_identity

INCEPTION_STYLES = ("StyleGAN", "PyTorch")


def check_inception_style(metric: str, style: str) -> str:
    """The style, checked; MMagic takes any spelling of 'pytorch' (its MSPIE configs write it in lower case)."""
    if isinstance(style, str) and style.lower() == "pytorch":
        return "PyTorch"
    if style not in INCEPTION_STYLES:
        raise ConfigError(f"{metric}: inception_style must be one of {INCEPTION_STYLES}, got {style!r}")
    return style


CONVENTIONS = ("official", "mmagic")


def check_convention(metric: str, convention: str) -> str:
    """'official' follows the paper's reference code; 'mmagic' reproduces MMagic 1.2.0's numbers."""
    if convention not in CONVENTIONS:
        raise ConfigError(f"{metric}: convention must be one of {CONVENTIONS}, got {convention!r}")
    return convention


def mmagic_rounding(results: dict[str, float], convention: str) -> dict[str, float]:
    """MMagic reports SWD and MS-SSIM rounded to 4 decimals; the official code does not round."""
    return {key: round(value, 4) for key, value in results.items()} if convention == "mmagic" else results


def truncate_pixels(images: torch.Tensor) -> torch.Tensor:
    """[0, 255] floats as MMagic's ``tensor.to(torch.uint8)`` leaves them: truncated (floored), not rounded.

    Values outside [0, 255] (a bicubic resize's overshoot) are clamped, where the cast would wrap them.
    """
    return images.clamp(0, 255).floor()


class TruncatedPixels(torch.nn.Module):
    """A uint8-input extractor (``uint8_input = True``) fed truncated pixels, as MMagic feeds it.

    The extractor itself rounds half up (StyleGAN2-ADA); integers pass its
    rounding unchanged. The identity says so, so cached real statistics of the
    two conventions are kept apart.
    """

    def __init__(self, extractor: torch.nn.Module) -> None:
        super().__init__()
        self.extractor = extractor
        self.identity = f"{extractor_identity(extractor)}:pixels=truncated"
        for name in ("input_size", "feature_dim"):
            if hasattr(extractor, name):
                setattr(self, name, getattr(extractor, name))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.extractor(truncate_pixels(images))


def mmagic_pixels(extractor: torch.nn.Module, convention: str) -> torch.nn.Module:
    """Under convention='mmagic', a uint8-input extractor gets truncated pixels (MMagic's FID, PR, IS)."""
    if convention == "mmagic" and getattr(extractor, "uint8_input", False):
        return TruncatedPixels(extractor)
    return extractor


def check_extractor_arg(metric: str, feature_extractor) -> None:
    if feature_extractor is None or isinstance(feature_extractor, torch.nn.Module):
        return
    if not isinstance(feature_extractor, dict) or "type" not in feature_extractor:
        raise ConfigError(f"{metric}: feature_extractor must be dict(type=<registered extractor>, ...) "
                          f"or an nn.Module, got {feature_extractor!r}")


def build_extractor(feature_extractor, default: str, **default_kwargs) -> torch.nn.Module:
    """The extractor a metric uses: an nn.Module as given, a config dict built by the registry,
    or the registered extractor ``default`` built with ``default_kwargs``."""
    if isinstance(feature_extractor, torch.nn.Module):
        return feature_extractor
    if isinstance(feature_extractor, dict):
        return build(feature_extractor, "feature_extractor")
    kwargs = {key: value for key, value in default_kwargs.items() if value is not None}
    return build(dict(type=default, **kwargs), "feature_extractor")


def inception_for_style(feature_extractor, style: str, inception_path: str | None) -> torch.nn.Module:
    default = "StyleGANInception" if style == "StyleGAN" else "FIDInceptionV3"
    return build_extractor(feature_extractor, default, inception_path=inception_path)


def prepare_extractor(extractor: torch.nn.Module, device) -> torch.nn.Module:
    extractor.eval()
    try:
        extractor.to(device)
    except Exception:  # a TorchScript-only module that cannot move stays where it is
        pass
    return extractor


def run_extractor(fn, images: torch.Tensor, device, amp: bool) -> torch.Tensor:
    """Apply ``fn`` to images on ``device`` under inference_mode (+ autocast when amp)."""
    with torch.inference_mode(), autocast(torch.device(device), amp):
        out = fn(images.to(device, dtype=torch.float32))
    return out.float()


def keep_below(images: torch.Tensor, indices: torch.Tensor, limit: int):
    """Drop samples whose global index is ≥ limit (limit < 0 keeps everything)."""
    indices = torch.as_tensor(indices).reshape(-1)
    if limit is None or limit < 0:
        return images, indices
    keep = indices < limit
    return images[keep.to(images.device)], indices[keep]


def agree_on_all_ranks(flag: bool) -> bool:
    """True only when every rank says True (one rank's cache miss makes all recompute)."""
    total = distributed.all_reduce_sum(torch.tensor([1.0 if flag else 0.0], dtype=torch.float64))
    return int(total.item()) == distributed.get_world_size()
