"""SinGAN's multi-scale networks under MMagic 1.2.0's names and state-dict keys:
``SinGANMultiScaleGenerator`` and ``SinGANMultiScaleDiscriminator``, one block per scale in ``blocks``.

A block is MMCV ``ConvModule`` layers: ``head`` (conv + BN + LeakyReLU 0.2), ``body.block1 …
block{num_layers-2}`` (channels halving from ``base_channels``, never below ``min_feat_channels``) and
``tail`` (conv, Tanh for the generator, a 1-channel score map for the discriminator). Every fourth scale
doubles both channel counts, up to 128 (MMagic's rule). Convolution weights start N(0, 0.02), BN
scales 1 (MMagic's ``init_weights``).
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from mgx.core.errors import ConfigError

from ..ops.conv_module import ConvModule

LEAKY = dict(type="LeakyReLU", negative_slope=0.2)
# MMCV builds a padding layer for any mode but 'zeros'/'circular': 'zero' is a ZeroPad2d, i.e. zero padding
_PADDING_MODES = {"zero": "zeros", "zeros": "zeros", "reflect": "reflect", "replicate": "replicate"}


def scale_channels(channels: int, scale: int) -> int:
    """MMagic's per-scale width: doubled every 4 scales, at most 128."""
    return min(channels * 2 ** (scale // 4), 128)


def _padding_mode(value: Any, who: str) -> str:
    if value not in _PADDING_MODES:
        raise ConfigError(f"{who}: padding_mode must be one of {sorted(_PADDING_MODES)}, got {value!r}")
    return _PADDING_MODES[value]


class SinGANBlock(nn.Module):
    """One scale: head, body, tail (see the module docstring). ``out_channels=1`` with no tail activation
    is the discriminator's block."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, padding: int, num_layers: int,
                 base_channels: int, min_feat_channels: int, norm_cfg: Any = dict(type="BN"),
                 out_act_cfg: Any = None, stride: int = 1, padding_mode: str = "zeros",
                 allow_no_residual: bool = False, who: str = "SinGAN block") -> None:
        super().__init__()
        if num_layers < 3:
            raise ConfigError(f"{who}: num_layers must be at least 3 (head, body, tail), got {num_layers}")
        self.in_channels, self.base_channels = in_channels, base_channels
        self.allow_no_residual = allow_no_residual
        common = dict(kernel_size=kernel_size, padding=padding, padding_mode=padding_mode, who=who)
        self.head = ConvModule(in_channels, base_channels, norm_cfg=norm_cfg, act_cfg=LEAKY, **common)
        self.body = nn.Sequential()
        feat = base_channels
        for i in range(num_layers - 2):
            feat = int(base_channels / 2 ** (i + 1))
            self.body.add_module(f"block{i + 1}", ConvModule(
                max(2 * feat, min_feat_channels), max(feat, min_feat_channels), stride=stride,
                norm_cfg=norm_cfg, act_cfg=LEAKY, **common))
        self.tail = ConvModule(max(feat, min_feat_channels), out_channels, norm_cfg=None, act_cfg=out_act_cfg,
                               **common)
        for layer in self.modules():
            if isinstance(layer, nn.Conv2d):
                nn.init.normal_(layer.weight, 0.0, 0.02)
                if layer.bias is not None:
                    nn.init.zeros_(layer.bias)
            elif isinstance(layer, (nn.BatchNorm2d, nn.InstanceNorm2d)) and layer.weight is not None:
                nn.init.ones_(layer.weight)
                nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor, prev: torch.Tensor | None = None) -> torch.Tensor:
        out = self.tail(self.body(self.head(x)))
        if prev is None or (self.allow_no_residual and out.shape[1] != prev.shape[1]):
            return out
        return out + prev


def _copy_previous_scale(blocks: nn.ModuleList, scale: int, same_inputs: bool) -> bool:
    """MMagic's ``check_and_load_prev_weight``: a new scale starts from the previous one's weights when
    their widths (and, for the generator, input channels) agree. Returns whether it copied."""
    if scale == 0:
        return False
    prev, curr = blocks[scale - 1], blocks[scale]
    if prev.base_channels != curr.base_channels or (same_inputs and prev.in_channels != curr.in_channels):
        return False
    curr.load_state_dict(prev.state_dict())
    return True


def _check_scales(num_scales: Any, who: str) -> int:
    if isinstance(num_scales, bool) or not isinstance(num_scales, int) or num_scales < 0:
        raise ConfigError(f"{who}: num_scales must be an int >= 0 (counted from zero, as in MMagic), "
                          f"got {num_scales!r}")
    return num_scales


class SinGANMultiScaleGenerator(nn.Module):
    """``blocks[s]`` refines the upsampled output of scale ``s-1`` from noise; ``forward`` runs scales
    0…``curr_scale``. Noise is ``noise_weights[s]``-scaled (fixed noises in ``'recon'`` mode, fresh
    Gaussian noise of the same shape in ``'rand'`` mode), both padded by ``pad_head`` zeros so the
    unpadded convolutions return the scale's size. Upsampling is bicubic with aligned corners."""

    def __init__(self, in_channels: int, out_channels: int, num_scales: int, kernel_size: int = 3,
                 padding: int = 0, num_layers: int = 5, base_channels: int = 32, min_feat_channels: int = 32,
                 out_act_cfg: Any = dict(type="Tanh"), init_cfg: Any = None, stride: int = 1,
                 allow_no_residual: bool = False, padding_mode: str = "zeros",
                 first_stage_in_channels: int | None = None) -> None:
        super().__init__()
        who = type(self).__name__
        self.num_scales = _check_scales(num_scales, who)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.pad_head = int((kernel_size - 1) / 2 * num_layers)
        mode = _padding_mode(padding_mode, who)
        self.blocks = nn.ModuleList(SinGANBlock(
            first_stage_in_channels or in_channels if scale == 0 else in_channels, out_channels, kernel_size,
            padding, num_layers, scale_channels(base_channels, scale), scale_channels(min_feat_channels, scale),
            out_act_cfg=out_act_cfg, stride=stride, padding_mode=mode, allow_no_residual=allow_no_residual,
            who=who) for scale in range(num_scales + 1))

    def upsample(self, x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
        return F.interpolate(x, size=tuple(size), mode="bicubic", align_corners=True)

    def check_and_load_prev_weight(self, curr_scale: int) -> bool:
        return _copy_previous_scale(self.blocks, curr_scale, same_inputs=True)

    def stage_noise(self, fixed: torch.Tensor, rand_mode: str, num_batches: int, like: torch.Tensor,
                    generator: torch.Generator | None = None) -> torch.Tensor:
        """The noise a scale adds: the fixed noise ('recon') or Gaussian noise of its shape ('rand')."""
        if rand_mode == "recon":
            return fixed.to(like)
        if rand_mode != "rand":
            raise ConfigError(f"{type(self).__name__}: rand_mode must be 'rand' or 'recon', got {rand_mode!r}")
        shape = (num_batches, *fixed.shape[1:])
        return torch.randn(shape, generator=generator, device="cpu" if generator is not None else like.device
                           ).to(like)

    def forward(self, input_sample: torch.Tensor | None, fixed_noises: Sequence[torch.Tensor],
                noise_weights: Sequence[float], rand_mode: str, curr_scale: int, num_batches: int = 1,
                get_prev_res: bool = False, return_noise: bool = False,
                generator: torch.Generator | None = None) -> Any:
        if input_sample is None:
            h, w = fixed_noises[0].shape[-2:]
            input_sample = torch.zeros(num_batches, self.out_channels, h, w).to(fixed_noises[0])
        image, previous, noises = input_sample, [], []
        pad = (self.pad_head,) * 4
        for stage in range(curr_scale + 1):
            noise = self.stage_noise(fixed_noises[stage], rand_mode, num_batches, image, generator)
            noises.append(noise)
            # MMagic detaches the block input; the residual path keeps the previous scales' graph
            padded = F.pad(noise, pad) * noise_weights[stage] + F.pad(image, pad)
            image = self.blocks[stage](padded.detach(), image)
            if stage != curr_scale:
                if get_prev_res:
                    previous.append(image)
                image = self.upsample(image, fixed_noises[stage + 1].shape[-2:])
        if get_prev_res or return_noise:
            return dict(fake_img=image, prev_res_list=previous, noise_batch=noises)
        return image


class SinGANMultiScaleDiscriminator(nn.Module):
    """``blocks[curr_scale]`` scores an image patch-wise (a 1-channel map)."""

    def __init__(self, in_channels: int, num_scales: int, kernel_size: int = 3, padding: int = 0,
                 num_layers: int = 5, base_channels: int = 32, min_feat_channels: int = 32,
                 norm_cfg: Any = dict(type="BN"), act_cfg: Any = LEAKY, stride: int = 1, init_cfg: Any = None,
                 padding_mode: str = "zeros") -> None:
        super().__init__()
        who = type(self).__name__
        if act_cfg != LEAKY:
            raise ConfigError(f"{who}: act_cfg other than {LEAKY} is not supported, got {act_cfg!r}")
        self.num_scales = _check_scales(num_scales, who)
        self.blocks = nn.ModuleList(SinGANBlock(
            in_channels, 1, kernel_size, padding, num_layers, scale_channels(base_channels, scale),
            scale_channels(min_feat_channels, scale), norm_cfg=norm_cfg, stride=stride,
            padding_mode=_padding_mode(padding_mode, who), who=who) for scale in range(num_scales + 1))

    def check_and_load_prev_weight(self, curr_scale: int) -> bool:
        return _copy_previous_scale(self.blocks, curr_scale, same_inputs=False)

    def forward(self, x: torch.Tensor, curr_scale: int) -> torch.Tensor:
        return self.blocks[curr_scale](x)


__all__ = ["SinGANBlock", "SinGANMultiScaleDiscriminator", "SinGANMultiScaleGenerator", "scale_channels"]
