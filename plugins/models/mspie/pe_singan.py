"""PE-SinGAN (MMagic 1.2.0's ``PESinGAN`` with ``SinGANMSGeneratorPE``): SinGAN with a positional
encoding at its first scale, or padding by interpolation, as the MS-PIE paper studies.

``SinGANMSGeneratorPE`` differs from SinGAN's generator in how a scale's input is formed:

* ``positional_encoding`` (``CSG`` or ``SPE``): the encoding of the first fixed noise's grid is added to
  scale 0's noise, and that scale sees the weighted noise alone (no image);
* ``pad_at_head=False`` (with ``padding=1`` convolutions): no padding before a block;
* ``interp_pad``: padding by bicubic upsampling to the padded size instead of zeros (``noise_with_pad``:
  the noises are already that size);
* ``padding_mode`` ``'zero'`` / ``'reflect'``; ``first_stage_in_channels`` for scale 0's block.

``PESinGAN`` makes the first fixed noise ``first_fixed_noises_ch`` channels and, with
``fixed_noise_with_pad``, every fixed noise ``2·pad_head`` larger; the later fixed noises have one channel.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError
from mgx.core.registry import build

from ..singan.model import SinGAN, _plain
from ..singan.networks import SinGANMultiScaleGenerator

_PAD_LAYERS = {"zero": nn.ZeroPad2d, "reflect": nn.ReflectionPad2d}


class SinGANMSGeneratorPE(SinGANMultiScaleGenerator):
    """See the module docstring."""

    def __init__(self, in_channels: int, out_channels: int, num_scales: int, kernel_size: int = 3,
                 padding: int = 0, num_layers: int = 5, base_channels: int = 32, min_feat_channels: int = 32,
                 out_act_cfg: Any = dict(type="Tanh"), padding_mode: str = "zero", pad_at_head: bool = True,
                 interp_pad: bool = False, noise_with_pad: bool = False, positional_encoding: Any = None,
                 first_stage_in_channels: int | None = None, init_cfg: Any = None, stride: int = 1,
                 allow_no_residual: bool = False) -> None:
        if padding_mode not in _PAD_LAYERS:
            raise ConfigError(f"SinGANMSGeneratorPE: padding_mode must be 'zero' or 'reflect', got {padding_mode!r}")
        super().__init__(in_channels, out_channels, num_scales, kernel_size, padding, num_layers, base_channels,
                         min_feat_channels, out_act_cfg, stride=stride, allow_no_residual=allow_no_residual,
                         padding_mode=padding_mode, first_stage_in_channels=first_stage_in_channels)
        self.pad_at_head, self.interp_pad, self.noise_with_pad = bool(pad_at_head), bool(interp_pad), bool(noise_with_pad)
        self.with_positional_encode = positional_encoding is not None
        if self.with_positional_encode:
            self.head_position_encode = positional_encoding if isinstance(positional_encoding, nn.Module) \
                else build(positional_encoding, "model")
        self.pad_layer = _PAD_LAYERS[padding_mode](self.pad_head)

    def _unpadded(self, noise: torch.Tensor) -> tuple[int, int]:
        h, w = noise.shape[-2:]
        return (h - 2 * self.pad_head, w - 2 * self.pad_head) if self.noise_with_pad else (h, w)

    def _padded_input(self, noise: torch.Tensor, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(noise, image) as the block's input size wants them."""
        if not self.pad_at_head:
            return noise, image
        if self.interp_pad:
            if self.noise_with_pad:
                size = noise.shape[-2:]
            else:
                size = (noise.size(2) + 2 * self.pad_head, noise.size(3) + 2 * self.pad_head)
                noise = self.upsample(noise, size)
            return noise, self.upsample(image, size)
        return (noise if self.noise_with_pad else self.pad_layer(noise)), self.pad_layer(image)

    def forward(self, input_sample: torch.Tensor | None, fixed_noises: Sequence[torch.Tensor],
                noise_weights: Sequence[float], rand_mode: str, curr_scale: int, num_batches: int = 1,
                get_prev_res: bool = False, return_noise: bool = False,
                generator: torch.Generator | None = None) -> Any:
        if input_sample is None:
            h, w = self._unpadded(fixed_noises[0])
            input_sample = torch.zeros(num_batches, self.out_channels, h, w).to(fixed_noises[0])
        image, previous, noises = input_sample, [], []
        for stage in range(curr_scale + 1):
            noise = self.stage_noise(fixed_noises[stage], rand_mode, num_batches, image, generator)
            noises.append(noise)
            positional = self.with_positional_encode and stage == 0
            if positional:
                noise = noise + self.head_position_encode(fixed_noises[0].to(noise))
            noise, image_padded = self._padded_input(noise, image)
            mixed = noise * noise_weights[stage] if positional else noise * noise_weights[stage] + image_padded
            image = self.blocks[stage](mixed.detach(), image)
            if stage != curr_scale:
                if get_prev_res:
                    previous.append(image)
                image = self.upsample(image, self._unpadded(fixed_noises[stage + 1]))
        if get_prev_res or return_noise:
            return dict(fake_img=image, prev_res_list=previous, noise_batch=noises)
        return image


class PESinGAN(SinGAN):
    """See the module docstring; the training schedule is SinGAN's (its ``iters_per_scale`` default is 200)."""

    def __init__(self, generator: Any, discriminator: Any = None, data_preprocessor: dict | None = None,
                 generator_steps: int = 1, discriminator_steps: int = 1, num_scales: int | None = None,
                 fixed_noise_with_pad: bool = False, first_fixed_noises_ch: int = 1, iters_per_scale: int = 200,
                 noise_weight_init: float = 0.1, lr_scheduler_args: dict | None = None,
                 test_pkl_data: str | None = None, ema_confg: dict | None = None) -> None:
        super().__init__(generator, discriminator, data_preprocessor, generator_steps, discriminator_steps,
                         num_scales, iters_per_scale, noise_weight_init, lr_scheduler_args, test_pkl_data, ema_confg)
        if isinstance(first_fixed_noises_ch, bool) or not isinstance(first_fixed_noises_ch, int) \
                or first_fixed_noises_ch < 1:
            raise ConfigError(f"PESinGAN: first_fixed_noises_ch must be a positive int, got {first_fixed_noises_ch!r}")
        self.fixed_noise_with_pad, self.first_fixed_noises_ch = bool(fixed_noise_with_pad), first_fixed_noises_ch

    def construct_fixed_noises(self, reals: list[torch.Tensor]) -> list[torch.Tensor]:
        pad = 2 * _plain(self.generator).pad_head if self.fixed_noise_with_pad else 0
        noises = []
        for index, real in enumerate(reals):
            h, w = real.shape[-2] + pad, real.shape[-1] + pad
            noises.append(torch.randn(1, self.first_fixed_noises_ch, h, w).to(real) if index == 0
                          else torch.zeros(1, 1, h, w).to(real))
        return noises


__all__ = ["PESinGAN", "SinGANMSGeneratorPE"]
