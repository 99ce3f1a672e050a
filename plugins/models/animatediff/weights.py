"""The weights AnimateDiff's configs name, in their original layouts, onto diffusers' modules.

- ``motion_module_cfg.path``: an AnimateDiff motion-module checkpoint (``mm_sd_v14.ckpt``,
  ``mm_sd_v15.ckpt``, ``mm_sd_v15_v2.ckpt``) whose keys are MMagic's ``UNet3DConditionMotionModel``
  names (``down_blocks.0.motion_modules.0.temporal_transformer.transformer_blocks.0.attention_blocks.1.
  to_q.weight``); ``motion_key`` renames them to ``UNetMotionModel``'s (``...motion_modules.0.
  transformer_blocks.0.attn2.to_q.weight``). Each attention block's frame-position table
  (``attention_blocks.{0,1}.pos_encoder.pe``) is the same sinusoid; diffusers keeps one per transformer
  block (``pos_embed.pe``), loaded from the first.
- ``dream_booth_lora_cfg.path``: a DreamBooth base model (``.safetensors`` or ``.ckpt``) in the original
  Stable Diffusion layout (``model.diffusion_model.*``, ``first_stage_model.*``,
  ``cond_stage_model.transformer.*``), converted by diffusers' own single-file converters.

A path or an http(s) URL, fetched once through mgx's weights cache (``$MGX_CACHE_DIR/weights``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from mgx.core.errors import ConfigError

from ..base_models.pretrained import check_fit, local_checkpoint, read_weights_file
from ..stable_diffusion.mmagic_keys import text_model_level_as_own

MOTION = ".motion_modules."
# MMagic's (original AnimateDiff's) names inside a motion module → diffusers' UNetMotionModel's
RENAMES = ((".temporal_transformer.", "."), (".attention_blocks.0.pos_encoder.pe", ".pos_embed.pe"),
           (".attention_blocks.0.", ".attn1."), (".attention_blocks.1.", ".attn2."),
           (".norms.0.", ".norm1."), (".norms.1.", ".norm2."), (".ff_norm.", ".norm3."))
SECOND_POSITIONS = ".attention_blocks.1.pos_encoder.pe"


def motion_key(key: str) -> str | None:
    """The diffusers name of one of MMagic's motion-module keys (None: the duplicate position table)."""
    if MOTION not in key:
        return key
    if key.endswith(SECOND_POSITIONS):
        return None
    for old, new in RENAMES:
        key = key.replace(old, new)
    return key


def convert_motion_state(state: dict) -> dict:
    """MMagic-layout motion-module weights (a whole UNet3D's or the modules alone) in diffusers' names."""
    converted = {}
    for key, value in state.items():
        new = motion_key(key)
        if new is not None:
            converted[new] = value
    return converted


def _read(path: str, owner: str) -> dict:
    state = read_weights_file(local_checkpoint(str(path)), owner)
    if not isinstance(state, dict):
        raise ConfigError(f"{owner}: {path} holds no state dict")
    return state


def checked_path(cfg: Any, owner: str) -> str:
    """``cfg['path']``: a URL, or a file that exists (else a ConfigError saying which override to give)."""
    if not isinstance(cfg, dict) or not cfg.get("path"):
        raise ConfigError(f"{owner} must be dict(path=FILE_OR_URL, ...), got {cfg!r}")
    path = str(cfg["path"])
    if "://" not in path and not Path(path).expanduser().is_file():
        raise ConfigError(f"{owner}.path {path!r} does not exist: download the file named there (AnimateDiff's "
                          f"motion modules and DreamBooth models, see MMagic's configs/animatediff/README.md) and "
                          f"give its path, e.g. --cfg-options {owner}.path=/data/{Path(path).name}")
    return path


def load_motion_modules(unet: Any, cfg: Any, owner: str = "model.motion_module_cfg") -> int:
    """Load ``cfg['path']`` (MMagic's layout) into ``unet``'s motion modules; every motion-module weight of
    ``unet`` must be there and nothing else may be (MMagic asserts the latter). Returns the tensor count."""
    path = checked_path(cfg, owner)
    state = convert_motion_state(_read(path, owner))
    # the 2-D weights come from Stable Diffusion; a file without position tables keeps the computed ones
    others = {key for key in unet.state_dict() if MOTION not in key or key.endswith(".pos_embed.pe")}
    _load(unet, state, others, f"{owner}: {path} (motion modules: check motion_module_mid_block and "
          f"motion_module_kwargs)")
    return len(state)


def load_dreambooth(model: Any, cfg: Any, owner: str = "model.dream_booth_lora_cfg") -> None:
    """A Stable Diffusion checkpoint in the original layout into the model's VAE, UNet (its 2-D part) and
    text encoder (MMagic's ``init_dreambooth_lora``), each loaded strictly."""
    from diffusers.loaders.single_file_utils import (convert_ldm_clip_checkpoint, convert_ldm_unet_checkpoint,
                                                     convert_ldm_vae_checkpoint)

    path = checked_path(cfg, owner)
    state = _read(path, owner)
    what = f"{owner}: {path} (is it a Stable Diffusion 1.x checkpoint?): its"
    vae = convert_ldm_vae_checkpoint(state, dict(model.vae.config))
    _load(model.vae, vae, set(), f"{what} VAE (first_stage_model.*)")
    unet = convert_ldm_unet_checkpoint(state, dict(model.unet.config))
    _load(model.unet, unet, {key for key in model.unet.state_dict() if MOTION in key},
          f"{what} UNet (model.diffusion_model.*)")
    text = convert_ldm_clip_checkpoint(state)
    own_text = model.text_encoder.state_dict()
    text = {text_model_level_as_own(key, own_text): value for key, value in text.items()}
    text = {key: value for key, value in text.items() if key in own_text or not key.endswith("position_ids")}
    _load(model.text_encoder, text, {key for key in own_text if key.endswith("position_ids")},
          f"{what} text encoder (cond_stage_model.transformer.*)")


def _load(module: Any, weights: dict, may_miss: set, what: str) -> None:
    """``weights`` into ``module``, whose ``may_miss`` keys may be absent (they come from elsewhere)."""
    check_fit(module, weights, what, tuple(may_miss))
    module.load_state_dict(weights, strict=False)
