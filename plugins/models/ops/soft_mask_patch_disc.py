"""MMagic's ``SoftMaskPatchDiscriminator`` (AOT-GAN's critic; MMagic keeps it in ``models/archs``): a
PatchGAN whose per-patch scores the ``smgan`` GANLoss compares with a blurred hole mask.

``num_conv`` stride-2 4×4 convolutions (``base_channels·min(2^i, 8)`` channels, no bias, LeakyReLU 0.2),
one stride-1 4×4 convolution, and a 4×4 convolution down to one channel; keys ``model.<i>.conv.*``
(``weight_orig``/``weight_u``/``weight_v`` with spectral norm) and ``model.<last>.weight/bias``. Weights
start N(0, gain) (MMagic's ``generation_init_weights``).
"""
from __future__ import annotations

import torch
from torch import nn

from mgx.core.errors import ConfigError

from .conv_module import ConvModule, generation_init_weights, init_type_and_gain


class SoftMaskPatchDiscriminator(nn.Module):
    """PatchGAN critic for AOT-GAN (module docstring)."""

    def __init__(self, in_channels: int, base_channels: int = 64, num_conv: int = 3, norm_cfg: dict | None = None,
                 init_cfg: dict | None = dict(type="normal", gain=0.02), with_spectral_norm: bool = False) -> None:
        super().__init__()
        who = "SoftMaskPatchDiscriminator"
        if not isinstance(num_conv, int) or num_conv < 1:
            raise ConfigError(f"{who}: num_conv must be a positive integer, got {num_conv!r}")
        init_type, gain = init_type_and_gain(init_cfg, who)
        widths = [in_channels] + [base_channels * min(2 ** index, 8) for index in range(num_conv + 1)]
        layers: list[nn.Module] = []
        for index in range(num_conv + 1):
            layers.append(ConvModule(widths[index], widths[index + 1], 4, 2 if index < num_conv else 1, 1,
                                     bias=False, norm_cfg=norm_cfg,
                                     act_cfg=dict(type="LeakyReLU", negative_slope=0.2), who=who))
        layers.append(nn.Conv2d(widths[-1], 1, 4, 1, 1))
        self.model = nn.Sequential(*layers)
        generation_init_weights(self, init_type, gain)
        if with_spectral_norm:
            for layer in layers[:-1]:
                layer.conv = nn.utils.spectral_norm(layer.conv)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


__all__ = ["SoftMaskPatchDiscriminator"]
