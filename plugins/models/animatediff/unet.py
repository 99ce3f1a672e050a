"""MMagic's ``UNet3DConditionMotionModel`` built as diffusers' ``UNetMotionModel``: the Stable Diffusion
UNet (``from_pretrained`` + ``subfolder``, or ``from_config``) with a ``MotionAdapter`` whose settings come
from MMagic's ``motion_module_*`` arguments (``UNetMotionModel.from_unet2d``). The motion weights come
from ``AnimateDiff``'s ``motion_module_cfg`` (weights.py); built here, each temporal transformer's
output projection starts at zero (MMagic's ``zero_initialize``), so an untrained motion module is the
identity and the UNet denoises each frame as Stable Diffusion does."""
from __future__ import annotations

from typing import Any

from mgx.core.errors import ConfigError

from ..stable_diffusion.wrappers import components as diffusers_components

NAME = "UNet3DConditionMotionModel"
# MMagic's 3-D block names and the 2-D blocks diffusers inflates with motion modules
BLOCKS_2D = {"CrossAttnDownBlock3D": "CrossAttnDownBlock2D", "DownBlock3D": "DownBlock2D",
             "CrossAttnUpBlock3D": "CrossAttnUpBlock2D", "UpBlock3D": "UpBlock2D",
             "UNetMidBlock3DCrossAttn": "UNetMidBlock2DCrossAttn"}
# VanillaTemporalModule's defaults in MMagic 1.2.0 (motion_module.py)
MOTION_DEFAULTS = dict(num_attention_heads=8, num_transformer_block=2,
                       attention_block_types=("Temporal_Self", "Temporal_Self"), cross_frame_attention_mode=None,
                       temporal_position_encoding=False, temporal_position_encoding_max_len=24,
                       temporal_attention_dim_div=1, zero_initialize=True)
MOTION_NORM_GROUPS = 32  # MMagic's TemporalTransformer3DModel always uses 32 groups


def _unet2d_builder() -> Any:
    (builder,) = [made for made in diffusers_components() if made.__name__ == "UNet2DConditionModel"]
    return builder


def _as_2d(kwargs: dict) -> dict:
    """MMagic's 3-D block names in the UNet's own arguments, as the 2-D names diffusers inflates."""
    out = dict(kwargs)
    for field in ("down_block_types", "up_block_types"):
        if field in out:
            out[field] = tuple(BLOCKS_2D.get(name, name) for name in out[field])
    if "mid_block_type" in out:
        out["mid_block_type"] = BLOCKS_2D.get(out["mid_block_type"], out["mid_block_type"])
    return out


def motion_settings(motion_module_kwargs: dict | None) -> dict:
    """MMagic's ``motion_module_kwargs`` with its defaults, checked against what diffusers' motion
    modules compute (two temporal self-attentions with sinusoidal positions, full head width)."""
    settings = dict(MOTION_DEFAULTS)
    unknown = sorted(set(motion_module_kwargs or {}) - set(settings))
    if unknown:
        raise ConfigError(f"{NAME}.motion_module_kwargs: unknown key(s) {unknown}; known: {sorted(settings)}")
    settings.update(motion_module_kwargs or {})
    if list(settings["attention_block_types"]) != ["Temporal_Self", "Temporal_Self"]:
        raise ConfigError(f"{NAME}.motion_module_kwargs.attention_block_types="
                          f"{list(settings['attention_block_types'])!r}: only ['Temporal_Self', 'Temporal_Self'] "
                          f"(diffusers' motion modules: two temporal self-attentions) is supported")
    if not settings["temporal_position_encoding"]:
        raise ConfigError(f"{NAME}.motion_module_kwargs.temporal_position_encoding=False is not supported: "
                          f"diffusers' motion modules always add sinusoidal frame positions (set it True)")
    if settings["temporal_attention_dim_div"] != 1 or settings["cross_frame_attention_mode"] is not None:
        raise ConfigError(f"{NAME}.motion_module_kwargs: temporal_attention_dim_div must be 1 and "
                          f"cross_frame_attention_mode None (diffusers' motion modules), got "
                          f"{settings['temporal_attention_dim_div']!r}, {settings['cross_frame_attention_mode']!r}")
    return settings


def _check_layout(blocks: int, use_motion_module: bool, motion_module_type: Any, resolutions: Any,
                  decoder_only: bool, cross_frame: Any, temporal: Any) -> None:
    if not use_motion_module:
        raise ConfigError(f"{NAME}: use_motion_module=False is not supported (AnimateDiff needs its motion modules)")
    if motion_module_type != "Vanilla":
        raise ConfigError(f"{NAME}: motion_module_type={motion_module_type!r}; MMagic knows only 'Vanilla'")
    every = [2 ** index for index in range(blocks)]
    if decoder_only or not set(every) <= set(resolutions or ()):
        raise ConfigError(f"{NAME}: motion modules in every block are supported (motion_module_resolutions "
                          f"{every}, motion_module_decoder_only=False), got {list(resolutions or ())}, "
                          f"decoder_only={decoder_only}")
    if cross_frame or temporal:
        raise ConfigError(f"{NAME}: unet_use_cross_frame_attention / unet_use_temporal_attention are not supported "
                          f"(MMagic's AnimateDiff configs set both False)")


def UNet3DConditionMotionModel(from_pretrained: Any = None, subfolder: str | None = None, from_config: Any = None,
                               use_inflated_groupnorm: bool = False, use_motion_module: bool = False,
                               motion_module_resolutions: Any = (1, 2, 4, 8), motion_module_mid_block: bool = False,
                               motion_module_decoder_only: bool = False, motion_module_type: Any = None,
                               motion_module_kwargs: dict | None = None, unet_use_cross_frame_attention: Any = None,
                               unet_use_temporal_attention: Any = None, unet_addtion_kwargs: Any = None,
                               **unet_kwargs: Any) -> Any:
    """``diffusers.UNetMotionModel``: MMagic's arguments; the 2-D UNet from ``from_pretrained``/``subfolder``
    (or ``from_config``), its own arguments (``block_out_channels``, ...) overriding the folder's.
    ``use_inflated_groupnorm`` is recorded only: diffusers' UNet normalizes each frame alone either way (see
    docs/models.md, AnimateDiff, for what differs from MMagic's UNet3D)."""
    import torch
    from diffusers import MotionAdapter, UNetMotionModel

    if isinstance(from_config, dict):
        from_config = _as_2d(from_config)
    unet2d = _unet2d_builder()(from_pretrained=from_pretrained, from_config=from_config, subfolder=subfolder,
                               **_as_2d(unet_kwargs))
    config = unet2d.config
    _check_layout(len(config.down_block_types), use_motion_module, motion_module_type, motion_module_resolutions,
                  motion_module_decoder_only, unet_use_cross_frame_attention, unet_use_temporal_attention)
    settings = motion_settings(motion_module_kwargs)
    channels = tuple(config.block_out_channels)
    if any(width % MOTION_NORM_GROUPS for width in channels):
        raise ConfigError(f"{NAME}: block_out_channels {list(channels)} must be multiples of {MOTION_NORM_GROUPS} "
                          f"(the motion modules' group norm, as in MMagic)")
    adapter = MotionAdapter(
        block_out_channels=channels, motion_layers_per_block=config.layers_per_block,
        motion_transformer_layers_per_block=settings["num_transformer_block"], motion_mid_block_layers_per_block=1,
        motion_transformer_layers_per_mid_block=settings["num_transformer_block"],
        motion_num_attention_heads=settings["num_attention_heads"], motion_norm_num_groups=MOTION_NORM_GROUPS,
        motion_max_seq_length=settings["temporal_position_encoding_max_len"],
        use_motion_mid_block=bool(motion_module_mid_block))
    if settings["zero_initialize"]:
        with torch.no_grad():
            for name, module in adapter.named_modules():
                if name.endswith("proj_out"):
                    module.weight.zero_()
                    module.bias.zero_()
    from diffusers.utils import logging as diffusers_logging

    verbosity = diffusers_logging.get_verbosity()
    diffusers_logging.set_verbosity_error()  # from_unet2d's float32 cast warns about nothing to keep
    try:
        unet = UNetMotionModel.from_unet2d(unet2d, adapter)
    finally:
        diffusers_logging.set_verbosity(verbosity)
    unet.use_inflated_groupnorm = bool(use_inflated_groupnorm)
    return unet
