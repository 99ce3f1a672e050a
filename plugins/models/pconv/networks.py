"""Partial-convolution U-Net of Liu et al. 2018 with MMagic's ``PConvEncoder``, ``PConvDecoder`` and
``PConvEncoderDecoder`` (names, arguments, state-dict keys ``encoder.enc1.conv.weight`` ...).

The encoder halves the size ``num_layers`` times (64, 128, 256, then 512 channels); the decoder
upsamples (``interpolation``), concatenates the encoder's feature and mask of the same size and applies
a partial convolution, back to 3 channels. Images must be a multiple of ``2 ** num_layers`` in size.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.modules.batchnorm import _BatchNorm

from mgx.core.errors import ConfigError, MgxError

from ..ops.partial_conv import MaskConvModule

DEFAULT_CONV = dict(type="PConv", multi_channel=True)
_LEAKY = dict(type="LeakyReLU", negative_slope=0.2)


def _check_layers(num_layers: Any, who: str) -> int:
    if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 4:
        raise ConfigError(f"{who}: num_layers must be an int ≥ 4 (the first four layers are fixed), "
                          f"got {num_layers!r}")
    return num_layers


class PConvEncoder(nn.Module):
    """``num_layers`` strided partial convolutions; returns the features and masks of every level."""

    def __init__(self, in_channels: int = 3, num_layers: int = 7, conv_cfg: dict = DEFAULT_CONV,
                 norm_cfg: dict | None = dict(type="BN", requires_grad=True), norm_eval: bool = False) -> None:
        super().__init__()
        who = "PConvEncoder"
        self.num_layers, self.norm_eval = _check_layers(num_layers, who), bool(norm_eval)
        # (out channels, kernel) of enc1..enc4; deeper layers are 512, 3×3
        first = [(64, 7), (128, 5), (256, 5), (512, 3)]
        channels = in_channels
        for index in range(num_layers):
            out, kernel = first[index] if index < 4 else (512, 3)
            self.add_module(f"enc{index + 1}", MaskConvModule(
                channels, out, kernel, stride=2, padding=kernel // 2, conv_cfg=conv_cfg,
                norm_cfg=None if index == 0 else norm_cfg, act_cfg=dict(type="ReLU"), who=who))
            channels = out
        if isinstance(norm_cfg, dict) and norm_cfg.get("requires_grad") is False:
            for name, parameter in self.named_parameters():
                if ".bn." in f".{name}":
                    parameter.requires_grad_(False)

    def train(self, mode: bool = True) -> "PConvEncoder":
        """``norm_eval``: BatchNorm keeps its running statistics while training (PConv's fine-tuning stage)."""
        super().train(mode)
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> dict:
        multiple = 2 ** self.num_layers
        if x.shape[-1] % multiple or x.shape[-2] % multiple:
            raise MgxError(f"PConvEncoder: images must be a multiple of {multiple} (2 ** num_layers) in size, "
                           f"got {tuple(x.shape[-2:])}")
        feats, masks = {"h0": x}, {"h0": mask}
        for index in range(1, self.num_layers + 1):
            feats[f"h{index}"], masks[f"h{index}"] = getattr(self, f"enc{index}")(feats[f"h{index - 1}"],
                                                                                 masks[f"h{index - 1}"])
        return dict(out=feats[f"h{self.num_layers}"], hidden_feats=feats, hidden_masks=masks)


class PConvDecoder(nn.Module):
    """Upsample, concatenate the encoder's level (features and masks), partial conv; ends at 3 channels."""

    def __init__(self, num_layers: int = 7, interpolation: str = "nearest", conv_cfg: dict = DEFAULT_CONV,
                 norm_cfg: dict | None = dict(type="BN")) -> None:
        super().__init__()
        who = "PConvDecoder"
        self.num_layers, self.interpolation = _check_layers(num_layers, who), interpolation
        # dec{i}: (input channels = upsampled + skip, output channels)
        shapes = {4: (512 + 256, 256), 3: (256 + 128, 128), 2: (128 + 64, 64), 1: (64 + 3, 3)}
        for index in range(num_layers, 0, -1):
            in_channels, out = shapes.get(index, (512 + 512, 512))
            last = index == 1
            self.add_module(f"dec{index}", MaskConvModule(
                in_channels, out, 3, stride=1, padding=1, conv_cfg=conv_cfg, norm_cfg=None if last else norm_cfg,
                act_cfg=None if last else _LEAKY, who=who))

    def forward(self, input_dict: dict) -> tuple[torch.Tensor, torch.Tensor]:
        feats, masks = input_dict["hidden_feats"], input_dict["hidden_masks"]
        h, h_mask = feats[f"h{self.num_layers}"], masks[f"h{self.num_layers}"]
        for index in range(self.num_layers, 0, -1):
            h = torch.cat([F.interpolate(h, scale_factor=2, mode=self.interpolation), feats[f"h{index - 1}"]], dim=1)
            h_mask = torch.cat([F.interpolate(h_mask, scale_factor=2, mode=self.interpolation),
                                masks[f"h{index - 1}"]], dim=1)
            h, h_mask = getattr(self, f"dec{index}")(h, h_mask)
        return h, h_mask


class PConvEncoderDecoder(nn.Module):
    """``decoder(encoder(x, mask))``: (image, final mask)."""

    def __init__(self, encoder: dict, decoder: dict) -> None:
        super().__init__()
        for name, cfg, kind in (("encoder", encoder, PConvEncoder), ("decoder", decoder, PConvDecoder)):
            if not isinstance(cfg, dict) or cfg.get("type") != kind.__name__:
                raise ConfigError(f"PConvEncoderDecoder: {name} must be dict(type='{kind.__name__}', ...), got {cfg!r}")
            arguments = {key: value for key, value in cfg.items() if key != "type"}
            try:
                setattr(self, name, kind(**arguments))
            except TypeError as error:
                raise ConfigError(f"PConvEncoderDecoder.{name}: {error}") from None

    def forward(self, x: torch.Tensor, mask_in: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.decoder(self.encoder(x, mask_in))


__all__ = ["PConvDecoder", "PConvEncoder", "PConvEncoderDecoder"]
