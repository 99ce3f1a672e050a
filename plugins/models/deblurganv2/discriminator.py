"""``DeblurGanV2Discriminator`` (MMagic's name and arguments): ``backbone='DoubleGan'`` (a PatchGAN of
``d_layers`` stride-2 layers, ``patch_gan``, beside a 5-layer "full" one, ``full_gan``), ``'PatchGan'``
(the patch one alone) or ``'MultiScale'`` (three heads at 1/8, 1/16, 1/32). Module names are MMagic's
(``patch_gan.model.<i>``, ``full_gan.model.<i>``, ``model_d.scale_one...``) so its checkpoints load.
"""
from __future__ import annotations

import torch
from torch import nn

from mgx.core.errors import ConfigError

from .generator import get_norm_layer

BACKBONES = ("DoubleGan", "PatchGan", "MultiScale")
_KERNEL, _PAD = 4, 2  # MMagic: ceil((4 - 1) / 2)


def _uses_bias(norm_layer) -> bool:
    # a norm with its own affine shift makes the conv's bias redundant; InstanceNorm here has none
    return getattr(norm_layer, "func", norm_layer) is nn.InstanceNorm2d


def _down(in_ch: int, out_ch: int, norm_layer, stride: int = 2) -> list[nn.Module]:
    return [nn.Conv2d(in_ch, out_ch, _KERNEL, stride=stride, padding=_PAD, bias=_uses_bias(norm_layer)),
            norm_layer(out_ch), nn.LeakyReLU(0.2, True)]


class NLayerDiscriminator(nn.Module):
    """PatchGAN: conv-LReLU, ``n_layers - 1`` stride-2 conv-norm-LReLU (×2 channels, at most ×8), one
    stride-1 conv-norm-LReLU and a 1-channel conv (no sigmoid unless ``use_sigmoid``)."""

    def __init__(self, input_nc: int = 3, ndf: int = 64, n_layers: int = 3, norm_layer=nn.BatchNorm2d,
                 use_sigmoid: bool = False) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(input_nc, ndf, _KERNEL, stride=2, padding=_PAD), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers):
            previous, mult = mult, min(2 ** n, 8)
            layers += _down(ndf * previous, ndf * mult, norm_layer)
        previous, mult = mult, min(2 ** n_layers, 8)
        layers += _down(ndf * previous, ndf * mult, norm_layer, stride=1)
        layers.append(nn.Conv2d(ndf * mult, 1, _KERNEL, stride=1, padding=_PAD))
        if use_sigmoid:
            layers.append(nn.Sigmoid())
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class DicsriminatorTail(nn.Module):  # (sic: MMagic's name)
    """A MultiScale head: stride-1 conv-norm-LReLU to ``ndf · min(2^n_layers, 8)`` channels, then 1 channel.
    BatchNorm always, as in MMagic (its tails ignore the discriminator's ``norm_layer``)."""

    def __init__(self, nf_mult: int, n_layers: int, ndf: int = 64, norm_layer=nn.BatchNorm2d) -> None:
        super().__init__()
        mult = min(2 ** n_layers, 8)
        self.model = nn.Sequential(*_down(ndf * nf_mult, ndf * mult, norm_layer, stride=1),
                                   nn.Conv2d(ndf * mult, 1, _KERNEL, stride=1, padding=_PAD))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class MultiScaleDiscriminator(nn.Module):
    def __init__(self, input_nc: int = 3, ndf: int = 64, norm_layer=nn.BatchNorm2d) -> None:
        super().__init__()
        self.scale_one = nn.Sequential(nn.Conv2d(input_nc, ndf, _KERNEL, stride=2, padding=_PAD),
                                       nn.LeakyReLU(0.2, True), *_down(ndf, ndf * 2, norm_layer),
                                       *_down(ndf * 2, ndf * 4, norm_layer))
        self.first_tail = DicsriminatorTail(nf_mult=4, n_layers=3)
        self.scale_two = nn.Sequential(*_down(ndf * 4, ndf * 8, norm_layer))
        self.second_tail = DicsriminatorTail(nf_mult=8, n_layers=4)
        self.scale_three = nn.Sequential(*_down(ndf * 8, ndf * 8, norm_layer))
        self.third_tail = DicsriminatorTail(nf_mult=8, n_layers=5)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.scale_one(x)
        first = self.first_tail(x)
        x = self.scale_two(x)
        second = self.second_tail(x)
        return [first, second, self.third_tail(self.scale_three(x))]


class DoubleGan(nn.Module):
    """``forward`` -> [full_gan(x), patch_gan(x)]; DeblurGanV2's losses call each part on its own."""

    def __init__(self, norm_layer: str = "instance", d_layers: int = 3) -> None:
        super().__init__()
        norm = get_norm_layer(norm_layer, "DeblurGanV2Discriminator")
        self.patch_gan = NLayerDiscriminator(n_layers=d_layers, norm_layer=norm)
        self.full_gan = NLayerDiscriminator(n_layers=5, norm_layer=norm)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [self.full_gan(x), self.patch_gan(x)]


class PatchGan(nn.Module):
    def __init__(self, norm_layer: str = "instance", d_layers: int = 3) -> None:
        super().__init__()
        self.patch_gan = NLayerDiscriminator(n_layers=d_layers,
                                             norm_layer=get_norm_layer(norm_layer, "DeblurGanV2Discriminator"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.patch_gan(x)


class MultiScale(nn.Module):
    def __init__(self, norm_layer: str = "instance", d_layers: int = 3) -> None:
        super().__init__()  # d_layers is accepted and unused, as in MMagic
        self.model_d = MultiScaleDiscriminator(norm_layer=get_norm_layer(norm_layer, "DeblurGanV2Discriminator"))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self.model_d(x)


class DeblurGanV2Discriminator:
    """Builds the discriminator ``backbone`` names (the network itself, as MMagic returns it)."""

    def __new__(cls, backbone: str, norm_layer: str = "instance", d_layers: int = 3) -> nn.Module:
        who = "DeblurGanV2Discriminator"
        if backbone in ("NoGan", ""):
            raise ConfigError(f"{who}: backbone={backbone!r} builds no network; set model.discriminator=None "
                              f"to train the generator on its content loss alone")
        if backbone not in BACKBONES:
            raise ConfigError(f"{who}: backbone must be one of {list(BACKBONES)}, got {backbone!r}")
        if isinstance(d_layers, bool) or not isinstance(d_layers, int) or d_layers < 1:
            raise ConfigError(f"{who}: d_layers must be a positive int, got {d_layers!r}")
        return {"DoubleGan": DoubleGan, "PatchGan": PatchGan, "MultiScale": MultiScale}[backbone](norm_layer, d_layers)
