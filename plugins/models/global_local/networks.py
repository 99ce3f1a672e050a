"""Global&Local (Iizuka et al. 2017, "Globally and Locally Consistent Image Completion") networks with
MMagic's names, arguments and state-dict keys: ``GLEncoder`` (6 convolutions, 4 input channels: the
masked image and its mask, 1/4 resolution), ``GLDilationNeck`` (4 dilated convolutions, dilation 2, 4, 8,
16), ``GLDecoder`` (7 layers, two of them 4×4 transposed convolutions, output clipped to [-1, 1] or
sigmoid), ``GLEncoderDecoder``; ``GLDiscs``: a global and a local ``MultiLayerDiscriminator`` whose
1024-d features a linear layer joins into one score."""
from __future__ import annotations

from functools import partial
from typing import Any

import torch
from torch import nn

from mgx.core.errors import ConfigError
from mgx.core.registry import build

from ..ops.conv_module import ConvModule
from ..ops.gated_conv import SimpleGatedConvModule
from ..ops.multi_layer_disc import MultiLayerDiscriminator

OUT_ACTS = ("clip", "sigmoid")


class GLEncoder(nn.Module):
    """Convolutions 64-128-128-256-256-256 (kernels 5, 3…; strides 1, 2, 1, 2, 1, 1)."""

    def __init__(self, norm_cfg: dict | None = None, act_cfg: dict | None = dict(type="ReLU")) -> None:
        super().__init__()
        channels = 4
        for index, (out, kernel, stride) in enumerate(zip((64, 128, 128, 256, 256, 256), (5, 3, 3, 3, 3, 3),
                                                          (1, 2, 1, 2, 1, 1))):
            self.add_module(f"enc{index + 1}", ConvModule(channels, out, kernel, stride, (kernel - 1) // 2,
                                                          norm_cfg=norm_cfg, act_cfg=act_cfg, who="GLEncoder"))
            channels = out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for index in range(6):
            x = getattr(self, f"enc{index + 1}")(x)
        return x


def conv_block(conv_type: str, in_channels: int, out_channels: int, kernel_size: int, who: str,
               **kwargs: Any) -> nn.Module:
    """MMagic's ``_conv_type`` choice: 'conv' (ConvModule) or 'gated_conv' (SimpleGatedConvModule, whose
    own feature/gate activations replace ``act_cfg``)."""
    if conv_type == "conv":
        return ConvModule(in_channels, out_channels, kernel_size, who=who, **kwargs)
    if conv_type == "gated_conv":
        kwargs.pop("act_cfg", None)
        return SimpleGatedConvModule(in_channels, out_channels, kernel_size, **kwargs)
    raise ConfigError(f"{who}: conv_type must be 'conv' or 'gated_conv', got {conv_type!r}")


class GLDilationNeck(nn.Module):
    """Four 3×3 convolutions with dilation 2, 4, 8, 16 (``conv_type='conv'``, or DeepFill v2's
    ``'gated_conv'``; ``kwargs`` such as ``padding_mode`` go to each convolution)."""

    def __init__(self, in_channels: int = 256, conv_type: str = "conv", norm_cfg: dict | None = None,
                 act_cfg: dict | None = dict(type="ReLU"), **kwargs: Any) -> None:
        super().__init__()
        self.dilation_convs = nn.Sequential(*[
            conv_block(conv_type, in_channels, in_channels, 3, "GLDilationNeck", stride=1, padding=2 ** (i + 1),
                       dilation=2 ** (i + 1), norm_cfg=norm_cfg, act_cfg=act_cfg, **kwargs) for i in range(4)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dilation_convs(x)


class GLDecoder(nn.Module):
    """256-256-(up)128-128-(up)64-32-3; ``out_act``: 'clip' to [-1, 1] or 'sigmoid'."""

    def __init__(self, in_channels: int = 256, norm_cfg: dict | None = None, act_cfg: dict | None = dict(type="ReLU"),
                 out_act: str = "clip") -> None:
        super().__init__()
        if out_act not in OUT_ACTS:
            raise ConfigError(f"GLDecoder: out_act must be one of {OUT_ACTS}, got {out_act!r}")
        layers = [(in_channels, 256, 3, False), (256, 256, 3, False), (256, 128, 4, True), (128, 128, 3, False),
                  (128, 64, 4, True), (64, 32, 3, False)]
        for index, (cin, cout, kernel, up) in enumerate(layers):
            self.add_module(f"dec{index + 1}", ConvModule(cin, cout, kernel, 2 if up else 1, 1, transposed=up,
                                                          norm_cfg=norm_cfg, act_cfg=act_cfg, who="GLDecoder"))
        self.dec7 = ConvModule(32, 3, 3, 1, 1, norm_cfg=None, act_cfg=None, who="GLDecoder")
        self.output_act = nn.Sigmoid() if out_act == "sigmoid" else partial(torch.clamp, min=-1.0, max=1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for index in range(7):
            x = getattr(self, f"dec{index + 1}")(x)
        return self.output_act(x)


def build_part(cfg: Any, default: dict, owner: str, name: str) -> nn.Module:
    """A sub-network named by ``type`` (any registered one: DeepFill's encoder/decoder fit here too)."""
    cfg = default if cfg is None else cfg
    if not isinstance(cfg, dict) or "type" not in cfg:
        raise ConfigError(f"{owner}: {name} must be dict(type=...), got {cfg!r}")
    return build(cfg, "model")


class GLEncoderDecoder(nn.Module):
    """encoder → dilation neck → decoder (an encoder returning a dict passes on its ``out``)."""

    def __init__(self, encoder: dict | None = None, decoder: dict | None = None,
                 dilation_neck: dict | None = None) -> None:
        super().__init__()
        owner = "GLEncoderDecoder"
        self.encoder = build_part(encoder, dict(type="GLEncoder"), owner, "encoder")
        self.decoder = build_part(decoder, dict(type="GLDecoder"), owner, "decoder")
        self.dilation_neck = build_part(dilation_neck, dict(type="GLDilationNeck"), owner, "dilation_neck")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.encoder(x)
        x = x["out"] if isinstance(x, dict) else x
        return self.decoder(self.dilation_neck(x))


class GLDiscs(nn.Module):
    """``pred = fc(cat(global_disc(image), local_disc(patch)))``; each disc ends in a 1024-d fc layer."""

    def __init__(self, global_disc_cfg: dict, local_disc_cfg: dict) -> None:
        super().__init__()
        for name, cfg in (("global_disc", global_disc_cfg), ("local_disc", local_disc_cfg)):
            try:
                setattr(self, name, MultiLayerDiscriminator(**cfg))
            except TypeError as error:
                raise ConfigError(f"GLDiscs.{name}_cfg: {error}") from None
        self.fc = nn.Linear(2048, 1, bias=True)
        nn.init.normal_(self.fc.weight, 0.0, 0.02)
        nn.init.zeros_(self.fc.bias)

    def forward(self, x: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        global_image, local_patch = x
        return self.fc(torch.cat([self.global_disc(global_image), self.local_disc(local_patch)], dim=1))


__all__ = ["GLDecoder", "build_part", "conv_block", "GLDilationNeck", "GLDiscs", "GLEncoder", "GLEncoderDecoder"]
