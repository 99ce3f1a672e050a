"""Diffusion trials: a tiny random Stable Diffusion pipeline folder (unet, vae, text_encoder, tokenizer,
scheduler) built from config dicts and written with ``save_pretrained``, which MMagic's configs'
``from_pretrained`` names are pointed at (16×16 images, 8×8 latents, a character-level CLIP tokenizer),
and the DreamBooth subject folder. Needs the ``diffusion`` extra."""
from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

import numpy as np

from .base import Sizes, save_image, smooth_image, under, writer

TOKEN_LENGTH = 16
UNET = dict(sample_size=8, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(8, 16),
            down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=16, attention_head_dim=2,
            norm_num_groups=4)
VAE = dict(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
           up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"), block_out_channels=(8, 16), latent_channels=4,
           layers_per_block=1, norm_num_groups=4, sample_size=16)
SCHEDULER = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                 clip_sample=False, steps_offset=1)


def text_encoder_config(vocab_size: int) -> dict:
    return dict(vocab_size=vocab_size, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                num_attention_heads=2, max_position_embeddings=TOKEN_LENGTH, projection_dim=16,
                bos_token_id=0, eos_token_id=1, pad_token_id=1)


def write_tokenizer_files(folder: Path) -> int:
    """vocab.json/merges.txt of a character-level BPE (no merges); returns the vocabulary size."""
    folder.mkdir(parents=True, exist_ok=True)
    symbols = string.ascii_lowercase + string.digits + ".,!?'-"
    tokens = ["<|startoftext|>", "<|endoftext|>", *symbols, *(f"{symbol}</w>" for symbol in symbols)]
    (folder / "vocab.json").write_text(json.dumps({token: index for index, token in enumerate(tokens)}))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return len(tokens)


def build_tiny_pipeline(root: Path, seed: int = 0) -> Path:
    """``root`` as a diffusers pipeline folder of tiny random parts; returns ``root``."""
    import torch
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    vocab_size = write_tokenizer_files(root / "tokenizer_files")
    tokenizer = CLIPTokenizer(str(root / "tokenizer_files" / "vocab.json"), str(root / "tokenizer_files" / "merges.txt"),
                              model_max_length=TOKEN_LENGTH)
    tokenizer.save_pretrained(str(root / "tokenizer"))
    CLIPTextModel(CLIPTextConfig(**text_encoder_config(vocab_size))).save_pretrained(str(root / "text_encoder"))
    UNet2DConditionModel(**UNET).save_pretrained(str(root / "unet"))
    AutoencoderKL(**VAE).save_pretrained(str(root / "vae"))
    DDPMScheduler(**SCHEDULER).save_pretrained(str(root / "scheduler"))
    return root


def model_path_options(root: Path) -> list[str]:
    """--cfg-options pointing MMagic's Stable Diffusion/DreamBooth config at the tiny pipeline folder."""
    return [f"model.vae.from_pretrained={root}", f"model.unet.from_pretrained={root}",
            f"model.text_encoder.pretrained_model_name_or_path={root}", f"model.tokenizer={root}",
            f"model.scheduler.from_pretrained={root}", f"model.test_scheduler.from_pretrained={root}"]


def _mentions(value: Any, keys: tuple[str, ...]) -> bool:
    if isinstance(value, dict):
        return any(key in value for key in keys) or any(_mentions(item, keys) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(_mentions(item, keys) for item in value)
    return False


def stand_in_pipeline_options(cfg: dict, folder: Path) -> list[str]:
    """For a config whose model loads diffusers/transformers parts by name: the tiny pipeline (built once
    under ``folder/tiny_sd``), the overrides pointing the names at it, and 2 sampling steps; [] else."""
    model = cfg.get("model") or {}
    if not _mentions(model, ("from_pretrained", "pretrained_model_name_or_path")):
        return []
    root = folder / "tiny_sd"
    if not (root / "scheduler").is_dir():
        build_tiny_pipeline(root)
    options = [option for option in model_path_options(root)
               if _has_path(model, option.split("=", 1)[0].split(".")[1:])]
    return options + (["model.num_inference_steps=2"] if "num_inference_steps" in model else [])


def _has_path(value: Any, keys: list[str]) -> bool:
    for key in keys[:-1]:
        if not isinstance(value, dict) or key not in value:
            return False
        value = value[key]
    return isinstance(value, dict) and keys[-1] in value


@writer("DreamBoothDataset")
def write_dreambooth_dataset(dataset: dict, root: Path, sizes: Sizes) -> Path:
    """MMagic's DreamBoothDataset: the subject's images in ``data_root/concept_dir``."""
    folder = under(under(root, dataset.get("data_root")), dataset.get("concept_dir"))
    rng = np.random.default_rng(6)
    for index in range(max(2, sizes.count // 2)):
        save_image(smooth_image(rng, sizes.image, sizes.image), folder / f"{index}.png")
    return folder
