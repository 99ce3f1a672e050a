"""MMagic 1.2.0's ``SNGANGenerator`` (alias ``SAGANGenerator``) and ``ProjDiscriminator`` (alias
``SAGANDiscriminator``): residual SNGAN networks with class-conditional BN, a projection head, and
optional self-attention blocks (SAGAN). State-dict keys are MMagic's (``noise2feat``,
``conv_blocks.<i>``, ``to_rgb``; ``from_rgb``, ``conv_blocks.<i>``, ``decision``, ``proj_y``).
"""
from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from mgx.core.errors import ConfigError

from ..ops.patch_discriminator import positive_int
from ..ops.spectral_norm import SelfAttentionBlock, SNConvModule, check_sn_style, sn_embedding, sn_linear
from .init import init_network
from .modules import build_activation, build_block, init_type_of

GEN_CHANNELS = {32: [1, 1, 1], 64: [16, 8, 4, 2], 128: [16, 16, 8, 4, 2]}
DISC_CHANNELS = {32: [1, 1, 1], 64: [2, 4, 8, 16], 128: [2, 4, 8, 16, 16]}
DISC_DOWNSAMPLE = {32: [True, False, False], 64: [True, True, True, True], 128: [True, True, True, True, False]}


def _per_scale(value: Any, scale: int, defaults: dict, name: str, who: str) -> list:
    table = copy.deepcopy(defaults) if value is None else copy.deepcopy(value)
    if isinstance(table, dict):
        if scale not in table:
            raise ConfigError(f"{who}: {name} has no entry for scale {scale} (it has {sorted(table)}); give "
                              f"{name} as a list or a dict with that scale")
        table = table[scale]
    if not isinstance(table, (list, tuple)) or not table:
        raise ConfigError(f"{who}: {name} must be a non-empty list or a dict scale -> list, got {value!r}")
    return list(table)


def _positions(value: Any, who: str) -> list[int]:
    positions = value if isinstance(value, list) else [value]
    if not all(isinstance(p, int) and not isinstance(p, bool) for p in positions):
        raise ConfigError(f"{who}: attention_after_nth_block must be an int or a list of ints, got {value!r}")
    return positions


def _attention(cfg: Any, channels: int, who: str, **defaults: Any) -> nn.Module:
    if not isinstance(cfg, dict) or cfg.get("type") != "SelfAttentionBlock":
        raise ConfigError(f"{who}: attention_cfg must be dict(type='SelfAttentionBlock', ...), got {cfg!r}")
    kwargs = {**{k: v for k, v in cfg.items() if k != "type"}, **defaults, "in_channels": channels}
    try:
        return SelfAttentionBlock(**kwargs)
    except TypeError as error:
        raise ConfigError(f"{who}: attention_cfg: {error}") from None


class SNGANGenerator(nn.Module):
    """noise -> Linear (``noise2feat``) to ``input_scale``² × base·factor₀ -> up-sampling residual blocks
    (``channels_cfg`` factors per scale; attention after the blocks ``attention_after_nth_block`` names,
    counted from 1) -> ``to_rgb`` (BN, act, 3×3 conv) -> tanh. ``rgb_to_bgr`` flips the output's channels."""

    def __init__(self, output_scale: int, num_classes: int = 0, base_channels: int = 64, out_channels: int = 3,
                 input_scale: int = 4, noise_size: int = 128, attention_cfg: dict = dict(type="SelfAttentionBlock"),
                 attention_after_nth_block: int | list = 0, channels_cfg: Any = None,
                 blocks_cfg: dict = dict(type="SNGANGenResBlock"), act_cfg: dict = dict(type="ReLU"),
                 use_cbn: bool = True, auto_sync_bn: bool = True, with_spectral_norm: bool = False,
                 with_embedding_spectral_norm: bool | None = None, sn_style: str = "torch", norm_eps: float = 1e-4,
                 sn_eps: float = 1e-12, init_cfg: dict = dict(type="BigGAN"), pretrained: Any = None,
                 rgb_to_bgr: bool = False) -> None:
        super().__init__()
        who = "SNGANGenerator"
        if pretrained is not None:
            raise ConfigError(f"{who}: pretrained is not supported; load MMagic weights with load_from")
        for name, value in (("output_scale", output_scale), ("base_channels", base_channels),
                            ("noise_size", noise_size), ("input_scale", input_scale)):
            positive_int(value, name, who)
        self.init_type = init_type_of(init_cfg, who)
        self.input_scale, self.output_scale, self.noise_size = input_scale, output_scale, noise_size
        self.num_classes, self.rgb_to_bgr, self.out_channels = num_classes, rgb_to_bgr, out_channels
        embedding_sn = with_spectral_norm if with_embedding_spectral_norm is None else with_embedding_spectral_norm
        block_defaults = dict(num_classes=num_classes, act_cfg=act_cfg, use_cbn=use_cbn, auto_sync_bn=auto_sync_bn,
                              with_spectral_norm=with_spectral_norm, with_embedding_spectral_norm=embedding_sn,
                              init_cfg=init_cfg, sn_style=check_sn_style(sn_style, who), norm_eps=norm_eps,
                              sn_eps=sn_eps)
        factors = _per_scale(channels_cfg, output_scale, GEN_CHANNELS, "channels_cfg", who)
        if input_scale * 2 ** len(factors) != output_scale:
            raise ConfigError(f"{who}: input_scale={input_scale} doubled by {len(factors)} blocks gives "
                              f"{input_scale * 2 ** len(factors)}, not output_scale={output_scale}")
        self.noise2feat = sn_linear(noise_size, input_scale ** 2 * base_channels * factors[0],
                                    with_spectral_norm=with_spectral_norm)
        attention_after = _positions(attention_after_nth_block, who)
        self.conv_blocks = nn.ModuleList()
        self.attention_block_idx: list[int] = []
        for index, factor in enumerate(factors):
            out_factor = factors[index + 1] if index + 1 < len(factors) else 1
            self.conv_blocks.append(build_block(blocks_cfg, "SNGANGenResBlock", who, **block_defaults,
                                                in_channels=factor * base_channels,
                                                out_channels=out_factor * base_channels))
            if index + 1 in attention_after:
                self.attention_block_idx.append(len(self.conv_blocks))
                self.conv_blocks.append(_attention(attention_cfg, out_factor * base_channels, who, sn_style=sn_style))
        self.to_rgb = SNConvModule(base_channels, out_channels, kernel_size=3, stride=1, padding=1, bias=True,
                                   norm_cfg=dict(type="BN", eps=norm_eps), act_cfg=act_cfg,
                                   order=("norm", "act", "conv"), with_spectral_norm=with_spectral_norm,
                                   spectral_norm_cfg=dict(eps=1e-12), who=who)
        self.final_act = nn.Tanh()
        init_network(self, self.init_type, generator=True)

    def forward(self, noise: torch.Tensor, num_batches: int = 0, label: torch.Tensor | None = None,
                return_noise: bool = False) -> Any:
        if not isinstance(noise, torch.Tensor):
            if num_batches <= 0:
                raise ValueError("SNGANGenerator: give noise (N×noise_size) or num_batches > 0")
            noise = torch.randn(num_batches, self.noise_size)
        if noise.dim() != 2 or noise.shape[1] != self.noise_size:
            raise ValueError(f"SNGANGenerator: noise must be N×{self.noise_size}, got {tuple(noise.shape)}")
        device = next(self.parameters()).device
        noise = noise.to(device)
        if label is None and self.num_classes > 0:
            label = torch.randint(0, self.num_classes, (noise.shape[0],), device=device)
        if label is not None:
            label = label.reshape(-1).to(device)
        x = self.noise2feat(noise).reshape(noise.shape[0], -1, self.input_scale, self.input_scale)
        for index, block in enumerate(self.conv_blocks):
            x = block(x) if index in self.attention_block_idx else block(x, label)
        image = self.final_act(self.to_rgb(x))
        if self.rgb_to_bgr:
            image = image[:, [2, 1, 0]]
        if return_noise:
            return dict(fake_img=image, noise_batch=noise, label=label)
        return image


class ProjDiscriminator(nn.Module):
    """``from_rgb`` head block -> residual blocks (``channels_cfg``/``downsample_cfg`` per scale;
    attention after the blocks ``attention_after_nth_block`` names, the head counting as block 1)
    -> act -> sum over space -> ``decision`` Linear, plus the projection ⟨proj_y(label), h⟩ when
    ``num_classes`` > 0."""

    def __init__(self, input_scale: int, num_classes: int = 0, base_channels: int = 128, input_channels: int = 3,
                 attention_cfg: dict = dict(type="SelfAttentionBlock"), attention_after_nth_block: int | list = -1,
                 channels_cfg: Any = None, downsample_cfg: Any = None,
                 from_rgb_cfg: dict = dict(type="SNGANDiscHeadResBlock"),
                 blocks_cfg: dict = dict(type="SNGANDiscResBlock"), act_cfg: dict = dict(type="ReLU"),
                 with_spectral_norm: bool = True, sn_style: str = "torch", sn_eps: float = 1e-12,
                 init_cfg: dict = dict(type="BigGAN"), pretrained: Any = None) -> None:
        super().__init__()
        who = "ProjDiscriminator"
        if pretrained is not None:
            raise ConfigError(f"{who}: pretrained is not supported; load MMagic weights with load_from")
        positive_int(input_scale, "input_scale", who)
        self.init_type = init_type_of(init_cfg, who)
        self.input_scale, self.in_channels, self.num_classes = input_scale, input_channels, num_classes
        check_sn_style(sn_style, who)
        factors = _per_scale(channels_cfg, input_scale, DISC_CHANNELS, "channels_cfg", who)
        downsamples = _per_scale(downsample_cfg, input_scale, DISC_DOWNSAMPLE, "downsample_cfg", who)
        if len(factors) != len(downsamples):
            raise ConfigError(f"{who}: downsample_cfg has {len(downsamples)} entries but channels_cfg {len(factors)}")
        attention_after = _positions(attention_after_nth_block, who)
        # MMagic passes sn_eps to the residual blocks but not to the head block (torch's 1e-12 there)
        common = dict(act_cfg=act_cfg, with_spectral_norm=with_spectral_norm, sn_style=sn_style, init_cfg=init_cfg)
        self.from_rgb = build_block(from_rgb_cfg, "SNGANDiscHeadResBlock", who, **common,
                                    in_channels=input_channels, out_channels=base_channels)
        self.conv_blocks = nn.ModuleList()
        if 1 in attention_after:
            self.conv_blocks.append(_attention(attention_cfg, base_channels, who, sn_style=sn_style))
        for index, (factor, downsample) in enumerate(zip(factors, downsamples)):
            in_factor = 1 if index == 0 else factors[index - 1]
            self.conv_blocks.append(build_block(blocks_cfg, "SNGANDiscResBlock", who, **common, sn_eps=sn_eps,
                                                downsample=downsample, in_channels=in_factor * base_channels,
                                                out_channels=factor * base_channels))
            if index + 2 in attention_after:  # MMagic gives these attention blocks their own default sn_style
                self.conv_blocks.append(_attention(attention_cfg, factor * base_channels, who))
        width = factors[-1] * base_channels
        self.decision = sn_linear(width, 1, with_spectral_norm=with_spectral_norm)
        if num_classes > 0:
            self.proj_y = sn_embedding(num_classes, width, with_spectral_norm=with_spectral_norm)
        self.activate = build_activation(act_cfg, who)
        init_network(self, self.init_type, generator=False)

    def forward(self, x: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        h = self.from_rgb(x)
        for block in self.conv_blocks:
            h = block(h)
        h = torch.sum(self.activate(h), dim=[2, 3])
        out = self.decision(h)
        if self.num_classes > 0:
            if label is None:
                raise ValueError("ProjDiscriminator: a conditional discriminator (num_classes > 0) needs label")
            out = out + torch.sum(self.proj_y(label.reshape(-1)) * h, dim=1, keepdim=True)
        return out.reshape(out.shape[0], -1)


__all__ = ["ProjDiscriminator", "SNGANGenerator"]
