"""MSPIE-StyleGAN2 (MMagic 1.2.0's ``MSStyleGANv2Generator``, ``MSStyleGAN2Discriminator``,
``MSPIEStyleGAN2``): StyleGAN2 that generates at several sizes from one network.

The generator's head is a positional encoding grid (``head_pos_encoding``: ``SPE`` of ``2·embedding_dim``
channels, or ``CSG`` of 2) or, without one, the learned constant; at ``chosen_scale = s`` the head is
``(head_pos_size + s)`` pixels a side (made at that size, or made at ``head_pos_size`` and resized
bilinearly with ``interp_head``; the constant is resized), so the image is ``(4 + s) · 2^k`` pixels.
``deconv2conv`` upsamples by interpolation (``up_config``) before the 3×3 conv, or after it with
``up_after_conv``; ``interp_pad`` adds that many pixels to every upsampled map and ``no_pad`` drops the
convolutions' padding. Injected-noise maps follow the sizes (MMagic's ``make_injected_noise``).

The discriminator is StyleGAN2's; ``with_adaptive_pool`` average-pools the last feature map to
``pool_size`` so any input size gives the same linear layers.

``MSPIEStyleGAN2`` trains as ``StyleGAN2`` does, but each iteration draws a scale from
``train_settings.multi_input_scales`` with ``multi_scale_probability`` (from the run seed and the
iteration: every process draws the same one), resizes the real images to
``(4 + s) · 2^num_upblocks`` (bilinear, corners aligned) and generates at that scale; the path-length
regulariser runs at scale 0, as in MMagic. (MMagic draws the scale only under distributed training and
otherwise stays at scale 0; mgx draws it always, so one process trains as N do.)
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError, MgxError
from mgx.core.registry import build

from ..stylegan2 import StyleGAN2, StyleGAN2Discriminator, StyleGANv2Generator
from ..stylegan2.model import _PURPOSE_PL, DISCRIMINATOR_TYPES, _build, _mix_seed, _plain
from ..stylegan2.modules import ConstantInput, EqualLinear, ModulatedConv2d, ModulatedStyleConv
from ..ops.style_ops import modulated_conv2d

CSG_TYPES = ("CatersianGrid", "CSG", "CSG2d")


def _pair(scale: Any) -> tuple[int, int]:
    return (int(scale), int(scale)) if not isinstance(scale, (tuple, list)) else (int(scale[0]), int(scale[1]))


class ModulatedPEConv2d(ModulatedConv2d):
    """StyleGAN2's modulated conv with MSPIE's up-sampling and padding options (see the module docstring)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, style_channels: int, *,
                 demodulate: bool = True, upsample: bool = False, blur_kernel: Sequence[int] = (1, 3, 3, 1),
                 no_pad: bool = False, deconv2conv: bool = False, interp_pad: int | None = None,
                 up_config: dict | None = None, up_after_conv: bool = False, eps: float = 1e-8) -> None:
        super().__init__(in_channels, out_channels, kernel_size, style_channels, demodulate=demodulate,
                         upsample=upsample and not deconv2conv, blur_kernel=blur_kernel, eps=eps)
        self.interpolate_up = upsample and deconv2conv
        self.padding = 0 if no_pad else kernel_size // 2
        self.interp_pad, self.up_after_conv = interp_pad, up_after_conv
        self.up_config = dict(up_config or dict(scale_factor=2, mode="nearest"))

    def _up(self, x: torch.Tensor) -> torch.Tensor:
        if self.interp_pad is None:
            return F.interpolate(x, **self.up_config)
        options = dict(self.up_config)
        factor = options.pop("scale_factor")
        size = (x.shape[-2] * factor + self.interp_pad, x.shape[-1] * factor + self.interp_pad)
        return F.interpolate(x, size=size, **options)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        if self.upsample:  # transposed conv + blur: StyleGAN2's own
            return super().forward(x, style)
        styles = self.style_modulation(style)

        def conv(t: torch.Tensor) -> torch.Tensor:
            return modulated_conv2d(t, self.weight[0] * self.scale, styles, demodulate=self.demodulate, eps=self.eps,
                                    padding=self.padding)

        if not self.interpolate_up:
            return conv(x)
        return self._up(conv(x)) if self.up_after_conv else conv(self._up(x))


class ModulatedPEStyleConv(ModulatedStyleConv):
    """Modulated PE conv, noise injection, fused bias + leaky ReLU (MMagic's keys: ``conv``, ``noise_injector``,
    ``activate``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, style_channels: int, *,
                 upsample: bool = False, blur_kernel: Sequence[int] = (1, 3, 3, 1), **options: Any) -> None:
        super().__init__(in_channels, out_channels, kernel_size, style_channels, upsample=upsample,
                         blur_kernel=blur_kernel)
        self.conv = ModulatedPEConv2d(in_channels, out_channels, kernel_size, style_channels, upsample=upsample,
                                      blur_kernel=blur_kernel, **options)


class MSStyleGANv2Generator(StyleGANv2Generator):
    """See the module docstring. ``chosen_scale`` (an int, or (h, w)) is a ``forward`` argument as in
    MMagic; ``at_scale`` sets it for every call inside a block."""

    def __init__(self, out_size: int, style_channels: int, num_mlps: int = 8, channel_multiplier: int = 2,
                 blur_kernel: Sequence[int] = (1, 3, 3, 1), lr_mlp: float = 0.01, default_style_mode: str = "mix",
                 eval_style_mode: str = "single", mix_prob: float = 0.9, no_pad: bool = False,
                 deconv2conv: bool = False, interp_pad: int | None = None,
                 up_config: dict = dict(scale_factor=2, mode="nearest"), up_after_conv: bool = False,
                 head_pos_encoding: Any = None, head_pos_size: Sequence[int] = (4, 4), interp_head: bool = False) -> None:
        super().__init__(out_size, style_channels, num_mlps=num_mlps, channel_multiplier=channel_multiplier,
                         blur_kernel=blur_kernel, lr_mlp=lr_mlp, default_style_mode=default_style_mode,
                         eval_style_mode=eval_style_mode, mix_prob=mix_prob)
        self.no_pad, self.up_after_conv, self.interp_head = bool(no_pad), bool(up_after_conv), bool(interp_head)
        self.head_pos_size = tuple(int(v) for v in head_pos_size)
        self.chosen_scale = (0, 0)
        self._scaled_noise: dict = {}
        width = self.channels
        in_channels = width[4]
        del self.constant_input
        self.head_pos_encoding = head_pos_encoding
        if head_pos_encoding:
            if not isinstance(head_pos_encoding, dict) or "type" not in head_pos_encoding:
                raise ConfigError(f"MSStyleGANv2Generator: head_pos_encoding must be dict(type='SPE' | 'CSG', ...), "
                                  f"got {head_pos_encoding!r}")
            if head_pos_encoding["type"] in CSG_TYPES:
                in_channels = 2
            self.head_pos_enc = build(head_pos_encoding, "model")
        else:
            self.constant_input = ConstantInput(width[4], size=4 + 2 * self.no_pad)
        options = dict(blur_kernel=blur_kernel, no_pad=no_pad, deconv2conv=deconv2conv, interp_pad=interp_pad,
                       up_config=up_config, up_after_conv=up_after_conv)
        self.conv1 = ModulatedPEStyleConv(in_channels, width[4], 3, style_channels, **options)
        self.convs = nn.ModuleList()
        previous = width[4]
        for res in range(3, self.log_size + 1):
            self.convs.append(ModulatedPEStyleConv(previous, width[2 ** res], 3, style_channels, upsample=True,
                                                   **options))
            self.convs.append(ModulatedPEStyleConv(width[2 ** res], width[2 ** res], 3, style_channels, **options))
            previous = width[2 ** res]
        for index, (h, w) in enumerate(self.noise_shapes()):
            self.register_buffer(f"injected_noise_{index}", torch.randn(1, 1, h, w))

    @contextlib.contextmanager
    def at_scale(self, scale: Any) -> Iterator[None]:
        saved, self.chosen_scale = self.chosen_scale, _pair(scale)
        try:
            yield
        finally:
            self.chosen_scale = saved

    def noise_shapes(self) -> list[tuple[int, int]]:
        """MMagic's ``make_injected_noise`` sizes at the current scale."""
        base_h, base_w = 4 + self.chosen_scale[0], 4 + self.chosen_scale[1]
        shapes = [(base_h, base_w)]
        for res in range(3, self.log_size + 1):
            for second in (False, True):
                pad = 2 if self.no_pad and not self.up_after_conv and not second else 0
                shapes.append((base_h * 2 ** (res - 2) + pad, base_w * 2 ** (res - 2) + pad))
        return shapes

    def fixed_noise(self) -> list[torch.Tensor]:
        if self.chosen_scale == (0, 0):
            return super().fixed_noise()
        if self.chosen_scale not in self._scaled_noise:  # MMagic draws a scale's maps once, when first asked
            rng = torch.Generator().manual_seed(_mix_seed(*self.chosen_scale))
            self._scaled_noise[self.chosen_scale] = [torch.randn(1, 1, h, w, generator=rng)
                                                     for h, w in self.noise_shapes()]
        return [noise.to(self.device) for noise in self._scaled_noise[self.chosen_scale]]

    def head_input(self, batch: int, transform: torch.Tensor | None = None) -> torch.Tensor:
        if transform is not None:
            raise MgxError("MSStyleGANv2Generator: input transforms are not supported")
        sh, sw = self.chosen_scale
        if self.head_pos_encoding:
            h, w = self.head_pos_size
            if self.interp_head:
                grid = self.head_pos_enc.make_grid2d(h, w, batch)
                out = F.interpolate(grid, size=(h + sh, w + sw), mode="bilinear", align_corners=True)
            else:
                out = self.head_pos_enc.make_grid2d(h + sh, w + sw, batch)
            return out.to(self.device)
        out = self.constant_input(batch)
        if (sh, sw) != (0, 0):
            out = F.interpolate(out, size=(out.shape[2] + sh, out.shape[3] + sw), mode="bilinear", align_corners=True)
        return out

    def forward(self, styles=None, num_batches: int = -1, chosen_scale: Any = 0, **kwargs: Any):
        with self.at_scale(chosen_scale if _pair(chosen_scale) != (0, 0) else self.chosen_scale):
            return super().forward(styles, num_batches, **kwargs)


class MSStyleGAN2Discriminator(StyleGAN2Discriminator):
    """See the module docstring."""

    def __init__(self, in_size: int, channel_multiplier: int = 2, blur_kernel: Sequence[int] = (1, 3, 3, 1),
                 mbstd_cfg: dict = dict(group_size=4, channel_groups=1), with_adaptive_pool: bool = False,
                 pool_size: Sequence[int] = (2, 2)) -> None:
        super().__init__(in_size, channel_multiplier=channel_multiplier, blur_kernel=blur_kernel, mbstd_cfg=mbstd_cfg)
        self.with_adaptive_pool, self.pool_size = bool(with_adaptive_pool), tuple(pool_size)
        if self.with_adaptive_pool:
            channels = self.final_linear[1].weight.shape[1]
            self.adaptive_pool = nn.AdaptiveAvgPool2d(self.pool_size)
            self.final_linear[0] = EqualLinear(channels * self.pool_size[0] * self.pool_size[1], channels,
                                               activate=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.final_conv(self.mbstd_layer(self.convs(x)))
        if self.with_adaptive_pool:
            x = self.adaptive_pool(x)
        return self.final_linear(x.flatten(1))


class MSPIEStyleGAN2(StyleGAN2):
    """See the module docstring."""

    def __init__(self, generator: Any, discriminator: Any = None, *args: Any, train_settings: dict | None = None,
                 **kwargs: Any) -> None:
        if discriminator is None:
            raise ConfigError("MSPIEStyleGAN2: discriminator=dict(type='MSStyleGAN2Discriminator', ...) is needed")
        super().__init__(_build(generator, ("MSStyleGANv2Generator",), "generator"),
                         _build(discriminator, ("MSStyleGAN2Discriminator", *DISCRIMINATOR_TYPES), "discriminator"),
                         *args, **kwargs)
        settings = dict(train_settings or {})
        unknown = sorted(set(settings) - {"num_upblocks", "multi_input_scales", "multi_scale_probability"})
        if unknown:
            raise ConfigError(f"MSPIEStyleGAN2: unknown train_settings key(s) {unknown}")
        self.train_settings = settings
        self.num_upblocks = int(settings.get("num_upblocks", 6))
        self.multi_input_scales = [int(s) for s in settings.get("multi_input_scales") or [0]]
        probability = settings.get("multi_scale_probability")
        probability = [1.0 / len(self.multi_input_scales)] * len(self.multi_input_scales) if probability is None \
            else [float(p) for p in probability]
        if len(probability) != len(self.multi_input_scales) or abs(sum(probability) - 1) > 1e-6:
            raise ConfigError(f"MSPIEStyleGAN2: train_settings.multi_scale_probability {probability} must give one "
                              f"probability per scale of {self.multi_input_scales}, summing to 1")
        self.multi_scale_probability = probability
        self.chosen_scale = 0

    def draw_scale(self, iteration: int) -> int:
        """This iteration's scale: the same on every process (from the run seed and the iteration)."""
        rng = np.random.default_rng(_mix_seed(int(self.noise_seed), iteration, 7))
        return int(rng.choice(self.multi_input_scales, p=self.multi_scale_probability))

    def _real_images(self, batch: dict, device: torch.device) -> torch.Tensor:
        value = batch.get("gt_img") if isinstance(batch, dict) else None
        value = value if isinstance(value, torch.Tensor) else (batch.get("inputs") if isinstance(batch, dict) else None)
        if not isinstance(value, torch.Tensor) or value.dim() != 4:
            raise MgxError("MSPIEStyleGAN2.train_step needs batch['gt_img'] or batch['inputs'] as N×C×H×W images")
        real = (value.to(device).float() - self.pixel_mean) / self.pixel_std
        size = (4 + self.chosen_scale) * 2 ** self.num_upblocks
        if tuple(real.shape[-2:]) != (size, size):
            real = F.interpolate(real, size=(size, size), mode="bilinear", align_corners=True)
        return real

    def _draws(self, purpose: int, keys, num: int, device):
        with _plain(self.generator).at_scale(0 if purpose == _PURPOSE_PL else self.chosen_scale):
            return super()._draws(purpose, keys, num, device)

    def _generate(self, styles, inject, noise, phase: str, return_latents: bool = False):
        # the path-length regulariser (the call that asks for latents) runs at scale 0, as in MMagic
        with _plain(self.generator).at_scale(0 if return_latents else self.chosen_scale):
            return super()._generate(styles, inject, noise, phase, return_latents)

    def train_step(self, batch: dict, optim) -> dict[str, torch.Tensor]:
        self.chosen_scale = self.draw_scale(int(self.train_iter))
        losses = super().train_step(batch, optim)
        losses["chosen_scale"] = torch.tensor(float(self.chosen_scale))
        return losses


__all__ = ["MSPIEStyleGAN2", "MSStyleGAN2Discriminator", "MSStyleGANv2Generator", "ModulatedPEConv2d",
           "ModulatedPEStyleConv"]
