"""AnimateDiff trials: the files MMagic's AnimateDiff configs name, in their original layouts, built from
tiny random diffusers parts — a Stable Diffusion pipeline folder whose UNet can host motion modules
(block widths multiples of 32, the motion modules' group count), an AnimateDiff motion-module checkpoint
in MMagic's ``UNet3DConditionMotionModel`` names (``.ckpt``) and a DreamBooth base model in the original
Stable Diffusion layout (``.safetensors``: ``model.diffusion_model.*``, ``first_stage_model.*``,
``cond_stage_model.transformer.*``) — and the overrides pointing a config at them. Needs the
``diffusion`` extra."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .diffusion import UNET, build_tiny_pipeline

MOTION_UNET = dict(UNET, block_out_channels=(32, 64))
FRAMES = 4  # frames per trial clip
RESNET_LDM = (("norm1", "in_layers.0"), ("conv1", "in_layers.2"), ("norm2", "out_layers.0"),
              ("conv2", "out_layers.3"), ("time_emb_proj", "emb_layers.1"), ("conv_shortcut", "skip_connection"))
VAE_ATTENTION_LDM = (("group_norm.", "norm."), ("to_q.", "q."), ("to_k.", "k."), ("to_v.", "v."),
                     ("to_out.0.", "proj_out."))


def build_tiny_motion_pipeline(root: Path, seed: int = 0) -> Path:
    """A tiny Stable Diffusion pipeline folder whose UNet is wide enough for motion modules."""
    return build_tiny_pipeline(root, seed=seed, unet=MOTION_UNET)


# -- MMagic's motion-module names -----------------------------------------------------------------

_INNER_TO_MMAGIC = ((".attn1.", ".attention_blocks.0."), (".attn2.", ".attention_blocks.1."),
                    (".norm1.", ".norms.0."), (".norm2.", ".norms.1."), (".norm3.", ".ff_norm."))


def mmagic_motion_state(state: dict) -> dict:
    """Motion-module weights in diffusers' names → MMagic's (original AnimateDiff's): the inverse of the
    plugin's conversion, each attention block with its own copy of the frame-position table."""
    out = {}
    for key, value in state.items():
        head, _, rest = key.partition(".motion_modules.")
        index, _, inner = rest.partition(".")
        prefix = f"{head}.motion_modules.{index}.temporal_transformer."
        if inner.endswith("pos_embed.pe"):
            block = inner[: -len("pos_embed.pe")]
            out[f"{prefix}{block}attention_blocks.0.pos_encoder.pe"] = value
            out[f"{prefix}{block}attention_blocks.1.pos_encoder.pe"] = value.clone()
            continue
        inner = "." + inner
        for new, old in _INNER_TO_MMAGIC:
            inner = inner.replace(new, old)
        out[prefix + inner[1:]] = value
    return out


def write_motion_module(path: Path, unet: Any, seed: int = 1) -> Path:
    """``unet``'s motion modules (random, non-zero: loading them shows) saved as an AnimateDiff motion
    checkpoint in MMagic's names."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    state = {key: (value if key.endswith("pos_embed.pe") else torch.randn(value.shape, generator=generator) * 0.05)
             for key, value in unet.state_dict().items() if ".motion_modules." in key}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(mmagic_motion_state(state), path)
    return path


# -- the original Stable Diffusion layout ------------------------------------------------------------

def _resnet(rest: str) -> str:
    for new, old in RESNET_LDM:
        rest = rest.replace(f"{new}.", f"{old}.")
    return rest


def ldm_unet_key(key: str, layers: int, up_with_attention: set[int]) -> str:
    """A diffusers UNet2DConditionModel key in the original layout (under ``model.diffusion_model.``)."""
    from diffusers.loaders.single_file_utils import DIFFUSERS_TO_LDM_MAPPING

    direct = DIFFUSERS_TO_LDM_MAPPING["unet"]["layers"]
    if key in direct:
        return direct[key]
    parts = key.split(".")
    if parts[0] == "mid_block":
        index = {"resnets.0": 0, "attentions.0": 1, "resnets.1": 2}[".".join(parts[1:3])]
        rest = ".".join(parts[3:])
        return f"middle_block.{index}." + (_resnet(rest) if parts[1] == "resnets" else rest)
    block, kind, rest = int(parts[1]), parts[2], ".".join(parts[4:])
    if parts[0] == "down_blocks":
        if kind == "downsamplers":  # downsamplers.0.conv.weight
            return f"input_blocks.{(block + 1) * (layers + 1)}.0.op.{parts[-1]}"
        slot = 1 + block * (layers + 1) + int(parts[3])
        return f"input_blocks.{slot}.0.{_resnet(rest)}" if kind == "resnets" else f"input_blocks.{slot}.1.{rest}"
    if kind == "upsamplers":
        where = 2 if block in up_with_attention else 1
        return f"output_blocks.{block * (layers + 1) + layers}.{where}.conv.{parts[-1]}"
    slot = block * (layers + 1) + int(parts[3])
    return f"output_blocks.{slot}.0.{_resnet(rest)}" if kind == "resnets" else f"output_blocks.{slot}.1.{rest}"


def ldm_vae_key(key: str, blocks: int) -> str:
    """A diffusers AutoencoderKL key in the original layout (under ``first_stage_model.``)."""
    from diffusers.loaders.single_file_utils import DIFFUSERS_TO_LDM_MAPPING

    direct = DIFFUSERS_TO_LDM_MAPPING["vae"]
    if key in direct:
        return direct[key]
    side, part, *rest = key.split(".")
    if part == "mid_block":
        kind, index, tail = rest[0], int(rest[1]), ".".join(rest[2:])
        if kind == "attentions":
            tail = "." + tail
            for new, old in VAE_ATTENTION_LDM:
                tail = tail.replace("." + new, "." + old)
            return f"{side}.mid.attn_1{tail}"
        return f"{side}.mid.block_{index + 1}.{tail.replace('conv_shortcut', 'nin_shortcut')}"
    index, kind, tail = int(rest[0]), rest[1], ".".join(rest[3:])
    level, name = (index, "down") if part == "down_blocks" else (blocks - 1 - index, "up")
    if kind in ("downsamplers", "upsamplers"):
        return f"{side}.{name}.{level}.{name}sample.conv.{rest[-1]}"
    return f"{side}.{name}.{level}.block.{rest[2]}.{tail.replace('conv_shortcut', 'nin_shortcut')}"


def ldm_state(unet: Any, vae: Any, text_encoder: Any) -> dict:
    """One original-layout Stable Diffusion state dict of the three diffusers/transformers modules (the
    VAE's attention projections as 1×1 convolutions, as the original stores them)."""
    config = unet.config
    up_with_attention = {index for index, name in enumerate(config.up_block_types) if "CrossAttn" in name}
    state = {f"model.diffusion_model.{ldm_unet_key(k, config.layers_per_block, up_with_attention)}": v
             for k, v in unet.state_dict().items() if ".motion_modules." not in k}
    for key, value in vae.state_dict().items():
        ldm = ldm_vae_key(key, len(vae.config.down_block_types))
        state[f"first_stage_model.{ldm}"] = value[:, :, None, None] if ".mid.attn_1." in ldm and value.dim() == 2 \
            else value
    # the original names CLIP's text model as transformers 4 did (``text_model.*``)
    state.update({f"cond_stage_model.transformer.{'' if k.startswith('text_model.') else 'text_model.'}{k}": v
                  for k, v in text_encoder.state_dict().items()})
    return {key: value.contiguous() for key, value in state.items()}


def write_dreambooth(path: Path, root: Path, seed: int = 2) -> Path:
    """The tiny pipeline's UNet/VAE/text encoder with other random weights (loading them shows), saved as
    one original-layout ``.safetensors`` DreamBooth base model."""
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from safetensors.torch import save_file
    from transformers import CLIPTextModel

    torch.manual_seed(seed)
    unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(str(root / "unet")))
    vae = AutoencoderKL.from_config(AutoencoderKL.load_config(str(root / "vae")))
    text = CLIPTextModel(CLIPTextModel.config_class.from_pretrained(str(root / "text_encoder")))
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(ldm_state(unet, vae, text), str(path))
    return path


# -- a config's overrides ----------------------------------------------------------------------------

def animatediff_options(model: dict, folder: Path) -> list[str]:
    """--cfg-options pointing an AnimateDiff config at tiny stand-ins built once under ``folder``: the
    pipeline folder, a motion-module checkpoint fitting the config's motion settings, a DreamBooth file;
    clips of ``FRAMES`` frames in 2 sampling steps, and a prompt when the model has none."""
    from mgx.plugins.models.animatediff.unet import UNet3DConditionMotionModel

    root = folder / "tiny_sd_motion"
    if not (root / "vae").is_dir():
        build_tiny_motion_pipeline(root)
    unet_cfg = {key: value for key, value in (model.get("unet") or {}).items() if key not in ("type", "from_pretrained")}
    motion = dict(unet_cfg.get("motion_module_kwargs") or {})
    tag = f"mid{int(bool(unet_cfg.get('motion_module_mid_block')))}_len{motion.get('temporal_position_encoding_max_len')}"
    checkpoint = folder / f"mm_tiny_{tag}.ckpt"
    if not checkpoint.is_file():
        write_motion_module(checkpoint, UNet3DConditionMotionModel(from_pretrained=str(root), **unet_cfg))
    dreambooth = folder / "dreambooth_tiny.safetensors"
    if not dreambooth.is_file():
        write_dreambooth(dreambooth, root)
    options = [f"model.vae.from_pretrained={root}", f"model.unet.from_pretrained={root}",
               f"model.text_encoder.pretrained_model_name_or_path={root}", f"model.tokenizer={root}",
               f"model.motion_module_cfg.path={checkpoint}", f"model.dream_booth_lora_cfg.path={dreambooth}",
               f"model.video_length={FRAMES}", "model.num_inference_steps=2"]
    if not model.get("val_prompts"):
        options.append("model.val_prompts=['a photo of a red circle']")
    return options
