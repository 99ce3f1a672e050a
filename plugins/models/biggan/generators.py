"""MMagic 1.2.0's ``BigGANGenerator`` (Brock et al. 2019) and ``BigGANDeepGenerator``.

Class conditioning: a shared class embedding (``shared_embedding``, ``shared_dim``) feeds every
block's conditional BN; with ``split_noise`` (hierarchical latents) the noise is cut into one chunk
for the input layer and one per block, each block getting [embedding, its chunk]; the deep generator
concatenates the whole noise with the embedding (``concat_noise``) for the input layer and every
block. Without a shared embedding the blocks embed the label themselves (``input_is_label``).
``truncation`` ≥ 0 clamps the noise. Keys are MMagic's (``noise2feat``, ``shared_embedding``,
``conv_blocks.<i>``, ``output_layer``).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from mgx.core.errors import ConfigError

from ..ops.patch_discriminator import positive_int
from ..ops.spectral_norm import SelfAttentionBlock, SNConvModule, check_sn_style, sn_linear
from .modules import BigGANDeepGenResBlock, BigGANGenResBlock, block_kwargs, init_biggan

_IN = {32: [4, 4, 4], 64: [16, 16, 8, 4], 128: [16, 16, 8, 4, 2], 256: [16, 16, 8, 8, 4, 2],
       512: [16, 16, 8, 8, 4, 2, 1]}
_OUT = {32: [4, 4, 4], 64: [16, 8, 4, 2], 128: [16, 8, 4, 2, 1], 256: [16, 8, 8, 4, 2, 1],
        512: [16, 8, 8, 4, 2, 1, 1]}
_ATTENTION_AT = {32: -1, 64: 3, 128: 3, 256: 3, 512: 3}  # block index followed by self-attention


def default_generator_arch(output_scale: int, base_channels: int, who: str) -> dict:
    if output_scale not in _IN:
        raise ConfigError(f"{who}: output_scale must be one of {sorted(_IN)} (or give arch_cfg), got {output_scale!r}")
    return dict(in_channels=[base_channels * f for f in _IN[output_scale]],
                out_channels=[base_channels * f for f in _OUT[output_scale]],
                upsample=[True] * len(_IN[output_scale]),
                attention=[i == _ATTENTION_AT[output_scale] for i in range(len(_IN[output_scale]))])


def _checked_arch(arch: Any, who: str) -> dict:
    keys = ("in_channels", "out_channels", "upsample", "attention")
    if not isinstance(arch, dict) or any(not isinstance(arch.get(k), (list, tuple)) for k in keys):
        raise ConfigError(f"{who}: arch_cfg must be a dict of lists {keys}, got {arch!r}")
    if len({len(arch[k]) for k in keys}) != 1:
        raise ConfigError(f"{who}: arch_cfg's lists {keys} must have one entry per stage")
    return arch


def _init_type(init_cfg: Any, init_type: str | None, who: str) -> str:
    if init_cfg is not None and init_type is not None:
        raise ConfigError(f"{who}: give init_cfg=dict(type=...) or init_type, not both")
    if init_cfg is not None:
        if not isinstance(init_cfg, dict) or "type" not in init_cfg:
            raise ConfigError(f"{who}: init_cfg must be dict(type='ortho'|'N02'|'xavier'), got {init_cfg!r}")
        return init_cfg["type"]
    return init_type or "ortho"


class _BigGANGeneratorBase(nn.Module):
    """What both generators share: arguments, class vector, output layer, sampling-time checks."""

    def _setup(self, who: str, output_scale: int, noise_size: int, num_classes: int, base_channels: int,
               input_scale: int, with_shared_embedding: bool, shared_dim: int, sn_style: str, arch_cfg: Any,
               rgb2bgr: bool) -> None:
        for name, value in (("output_scale", output_scale), ("noise_size", noise_size),
                            ("base_channels", base_channels), ("input_scale", input_scale)):
            positive_int(value, name, who)
        check_sn_style(sn_style, who)
        if num_classes == 0 and with_shared_embedding:
            raise ConfigError(f"{who}: with_shared_embedding needs num_classes > 0; set with_shared_embedding=False")
        self.noise_size, self.num_classes, self.shared_dim = noise_size, num_classes, shared_dim
        self.with_shared_embedding, self.output_scale = with_shared_embedding, output_scale
        self.input_scale = input_scale
        self.rgb2bgr, self.sn_style, self.out_channels = rgb2bgr, sn_style, 3
        self.arch = _checked_arch(arch_cfg, who) if arch_cfg else default_generator_arch(output_scale, base_channels,
                                                                                          who)

    def _output_layer(self, out_channels: int, sn: dict, act_cfg: dict, out_norm_cfg: dict, who: str) -> None:
        self.out_channels = out_channels
        self.shared_embedding = nn.Embedding(self.num_classes, self.shared_dim) if self.with_shared_embedding \
            else nn.Identity()
        self.output_layer = SNConvModule(self.arch["out_channels"][-1], out_channels, kernel_size=3, padding=1,
                                         act_cfg=act_cfg, norm_cfg=out_norm_cfg, bias=True,
                                         order=("norm", "act", "conv"), who=who, **sn)

    def _inputs(self, noise: torch.Tensor, label: Any, truncation: float,
                use_outside_embedding: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        who = type(self).__name__
        if noise.dim() != 2 or noise.shape[1] != self.noise_size:
            raise ValueError(f"{who}: noise must be N×{self.noise_size}, got {tuple(noise.shape)}")
        device = self.output_layer.conv.bias.device
        noise = noise.to(device)
        if truncation >= 0.0:
            noise = noise.clamp(-truncation, truncation)
        if self.num_classes == 0:
            return noise, None
        if label is None:
            label = torch.randint(0, self.num_classes, (noise.shape[0],), device=device)
        label = label.to(device)
        if use_outside_embedding:
            return noise, label
        return noise, self.shared_embedding(label.reshape(-1))

    def _finish(self, x: torch.Tensor) -> torch.Tensor:
        image = torch.tanh(self.output_layer(x))
        return image[:, [2, 1, 0]] if self.rgb2bgr else image


class BigGANGenerator(_BigGANGeneratorBase):
    def __init__(self, output_scale: int, noise_size: int = 120, num_classes: int = 0, out_channels: int = 3,
                 base_channels: int = 96, input_scale: int = 4, with_shared_embedding: bool = True,
                 shared_dim: int = 128, sn_eps: float = 1e-6, sn_style: str = "ajbrock", split_noise: bool = True,
                 act_cfg: dict = dict(type="ReLU"), upsample_cfg: dict = dict(type="nearest", scale_factor=2),
                 with_spectral_norm: bool = True, auto_sync_bn: bool = True,
                 blocks_cfg: dict = dict(type="BigGANGenResBlock"), arch_cfg: Any = None,
                 out_norm_cfg: dict = dict(type="BN"), rgb2bgr: bool = False,
                 init_cfg: dict | None = dict(type="ortho")) -> None:
        super().__init__()
        who = "BigGANGenerator"
        self._setup(who, output_scale, noise_size, num_classes, base_channels, input_scale, with_shared_embedding,
                    shared_dim, sn_style, arch_cfg, rgb2bgr)
        if num_classes > 0 and not with_shared_embedding and split_noise:
            raise ConfigError(f"{who}: split_noise needs with_shared_embedding=True; set split_noise=False")
        self.split_noise = split_noise
        stages = len(self.arch["in_channels"])
        self.num_slots = stages + 1 if split_noise else 1
        self.noise_chunk_size = noise_size // self.num_slots if split_noise else 0
        if split_noise:  # MMagic drops the remainder of noise_size
            self.noise_size = self.noise_chunk_size * self.num_slots
        if num_classes > 0:
            self.dim_after_concat = shared_dim + self.noise_chunk_size if with_shared_embedding else num_classes
        else:
            self.dim_after_concat = self.noise_chunk_size
        sn = dict(with_spectral_norm=with_spectral_norm, spectral_norm_cfg=dict(eps=sn_eps, sn_style=sn_style))
        self.noise2feat = sn_linear(self.noise_size // self.num_slots, self.arch["in_channels"][0] * input_scale ** 2,
                                    with_spectral_norm=with_spectral_norm, sn_style=sn_style, eps=sn_eps)
        block = block_kwargs(blocks_cfg, "BigGANGenResBlock", who, dim_after_concat=self.dim_after_concat,
                             act_cfg=act_cfg, sn_eps=sn_eps, sn_style=sn_style,
                             input_is_label=num_classes > 0 and not with_shared_embedding,
                             with_spectral_norm=with_spectral_norm, auto_sync_bn=auto_sync_bn)
        self.conv_blocks = nn.ModuleList()
        for index, out_ch in enumerate(self.arch["out_channels"]):
            self.conv_blocks.append(BigGANGenResBlock(self.arch["in_channels"][index], out_ch, **{
                **block, "upsample_cfg": upsample_cfg if self.arch["upsample"][index] else None}))
            if self.arch["attention"][index]:
                self.conv_blocks.append(SelfAttentionBlock(out_ch, with_spectral_norm, sn_eps, sn_style))
        self._output_layer(out_channels, sn, act_cfg, out_norm_cfg, who)
        init_biggan(self, _init_type(init_cfg, None, who), who)

    def forward(self, noise: torch.Tensor, label: torch.Tensor | None = None, num_batches: int = 0,
                return_noise: bool = False, truncation: float = -1.0, use_outside_embedding: bool = False) -> Any:
        if not isinstance(noise, torch.Tensor):
            noise = torch.randn(num_batches, self.noise_size)
        noise, class_vector = self._inputs(noise, label, truncation, use_outside_embedding)
        if self.split_noise:
            chunks = torch.split(noise, self.noise_chunk_size, dim=1)
            z = chunks[0]
            ys = [torch.cat([class_vector, c], 1) if class_vector is not None else c for c in chunks[1:]]
        else:
            z, ys = noise, [class_vector] * len(self.conv_blocks)
        x = self.noise2feat(z).reshape(z.shape[0], -1, self.input_scale, self.input_scale)
        stage = 0
        for block in self.conv_blocks:
            if isinstance(block, SelfAttentionBlock):
                x = block(x)
            else:
                x, stage = block(x, ys[stage]), stage + 1
        image = self._finish(x)
        return dict(fake_img=image, noise_batch=noise, label=label) if return_noise else image


class BigGANDeepGenerator(_BigGANGeneratorBase):
    def __init__(self, output_scale: int, noise_size: int = 120, num_classes: int = 0, out_channels: int = 3,
                 base_channels: int = 96, block_depth: int = 2, input_scale: int = 4,
                 with_shared_embedding: bool = True, shared_dim: int = 128, sn_eps: float = 1e-6,
                 sn_style: str = "ajbrock", init_type: str | None = None, concat_noise: bool = True,
                 act_cfg: dict = dict(type="ReLU", inplace=False),
                 upsample_cfg: dict = dict(type="nearest", scale_factor=2), with_spectral_norm: bool = True,
                 auto_sync_bn: bool = True, blocks_cfg: dict = dict(type="BigGANDeepGenResBlock"),
                 arch_cfg: Any = None, out_norm_cfg: dict = dict(type="BN"), pretrained: Any = None,
                 rgb2bgr: bool = False, init_cfg: dict | None = None) -> None:
        super().__init__()
        who = "BigGANDeepGenerator"
        if pretrained is not None:
            raise ConfigError(f"{who}: pretrained is not supported; load MMagic weights with load_from")
        self._setup(who, output_scale, noise_size, num_classes, base_channels, input_scale, with_shared_embedding,
                    shared_dim, sn_style, arch_cfg, rgb2bgr)
        if concat_noise and not with_shared_embedding:
            raise ConfigError(f"{who}: concat_noise needs a shared embedding (num_classes > 0, "
                              f"with_shared_embedding=True); set concat_noise=False")
        self.concat_noise, self.block_depth = concat_noise, block_depth
        extra = shared_dim if concat_noise else 0
        self.noise2feat = sn_linear(noise_size + extra, self.arch["in_channels"][0] * input_scale ** 2,
                                    with_spectral_norm=with_spectral_norm, sn_style=sn_style, eps=sn_eps)
        if num_classes > 0:
            self.dim_after_concat = (shared_dim + noise_size if concat_noise else shared_dim) \
                if with_shared_embedding else num_classes
        else:
            self.dim_after_concat = 0
        block = block_kwargs(blocks_cfg, "BigGANDeepGenResBlock", who, dim_after_concat=self.dim_after_concat,
                             act_cfg=act_cfg, sn_eps=sn_eps, sn_style=sn_style,
                             input_is_label=num_classes > 0 and not with_shared_embedding,
                             with_spectral_norm=with_spectral_norm, auto_sync_bn=auto_sync_bn)
        self.conv_blocks = nn.ModuleList()
        for index, out_ch in enumerate(self.arch["out_channels"]):
            in_ch = self.arch["in_channels"][index]
            for depth in range(block_depth):
                last = depth == block_depth - 1
                self.conv_blocks.append(BigGANDeepGenResBlock(in_ch, out_ch if last else in_ch, **{
                    **block, "upsample_cfg": upsample_cfg if self.arch["upsample"][index] and last else None}))
            if self.arch["attention"][index]:
                self.conv_blocks.append(SelfAttentionBlock(out_ch, with_spectral_norm, sn_eps, sn_style))
        sn = dict(with_spectral_norm=with_spectral_norm, spectral_norm_cfg=dict(eps=sn_eps, sn_style=sn_style))
        self._output_layer(out_channels, sn, act_cfg, out_norm_cfg, who)
        # MMagic's deep generator takes init_type; its configs write init_cfg=dict(type=...), read here too
        init_biggan(self, _init_type(init_cfg, init_type, who), who)

    def forward(self, noise: torch.Tensor, label: torch.Tensor | None = None, num_batches: int = 0,
                return_noise: bool = False, truncation: float = -1.0, use_outside_embedding: bool = False) -> Any:
        if not isinstance(noise, torch.Tensor):
            noise = torch.randn(num_batches, self.noise_size)
        noise, class_vector = self._inputs(noise, label, truncation, use_outside_embedding)
        z = y = noise
        if self.concat_noise and class_vector is not None:
            z = y = torch.cat([noise, class_vector], dim=1)
        elif self.num_classes > 0:
            y = class_vector
        else:
            y = None
        # MMagic's deep generator lays the input features out channels-last
        x = self.noise2feat(z).reshape(z.shape[0], self.input_scale, self.input_scale, -1).permute(0, 3, 1, 2)
        x = x.contiguous()
        for block in self.conv_blocks:
            x = block(x) if isinstance(block, SelfAttentionBlock) else block(x, y)
        image = self._finish(x)
        return dict(fake_img=image, noise_batch=noise, label=label) if return_noise else image


__all__ = ["BigGANDeepGenerator", "BigGANGenerator", "default_generator_arch"]
