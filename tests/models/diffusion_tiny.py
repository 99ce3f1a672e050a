"""A tiny random Stable Diffusion pipeline folder (unet, vae, text_encoder, tokenizer, scheduler, and a
``controlnet`` matching the UNet) built from config dicts and written with ``save_pretrained``: what the
diffusion tests point MMagic's configs' ``from_pretrained`` names at. 16×16 images (8×8 latents), a character-level CLIP tokenizer."""
from __future__ import annotations

import json
import string
from pathlib import Path

TOKEN_LENGTH = 16
UNET = dict(sample_size=8, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(8, 16),
            down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=16, attention_head_dim=2,
            norm_num_groups=4)
# conditioning images at the image size, brought to the latent size by one stride-2 convolution
CONTROLNET = dict(in_channels=4, layers_per_block=1, block_out_channels=(8, 16),
                  down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), cross_attention_dim=16,
                  attention_head_dim=2, norm_num_groups=4, conditioning_embedding_out_channels=(4, 8))
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


def build_tiny_clip(folder: Path, seed: int = 1) -> Path:
    """``folder`` holding a tiny random ``transformers.CLIPModel`` (16-px images) and its tokenizer, as
    ``CLIPScore(clip_model=folder)`` loads them."""
    import torch
    from transformers import CLIPConfig, CLIPModel, CLIPTokenizer

    vocab = write_tokenizer_files(folder)
    text = dict(vocab_size=vocab, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                max_position_embeddings=TOKEN_LENGTH, bos_token_id=0, eos_token_id=1, pad_token_id=1)
    vision = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, image_size=16,
                  patch_size=8)
    torch.manual_seed(seed)
    CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=8)).save_pretrained(str(folder))
    CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"),
                  model_max_length=TOKEN_LENGTH).save_pretrained(str(folder))
    return folder


def build_tiny_pipeline(root: Path, seed: int = 0, inpaint: bool = False) -> Path:
    """``root`` as a diffusers pipeline folder of tiny random parts (an inpainting UNet, 4 + 1 + 4 input
    channels, with ``inpaint``); returns ``root``."""
    import torch
    from diffusers import AutoencoderKL, ControlNetModel, DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    vocab_size = write_tokenizer_files(root / "tokenizer_files")
    tokenizer = CLIPTokenizer(str(root / "tokenizer_files" / "vocab.json"), str(root / "tokenizer_files" / "merges.txt"),
                              model_max_length=TOKEN_LENGTH)
    tokenizer.save_pretrained(str(root / "tokenizer"))
    CLIPTextModel(CLIPTextConfig(**text_encoder_config(vocab_size))).save_pretrained(str(root / "text_encoder"))
    UNet2DConditionModel(**dict(UNET, in_channels=9 if inpaint else 4)).save_pretrained(str(root / "unet"))
    AutoencoderKL(**VAE).save_pretrained(str(root / "vae"))
    DDPMScheduler(**SCHEDULER).save_pretrained(str(root / "scheduler"))
    ControlNetModel(**CONTROLNET).save_pretrained(str(root / "controlnet"))
    return root


def model_path_options(root: Path) -> list[str]:
    """--cfg-options pointing MMagic's Stable Diffusion/DreamBooth config at the tiny pipeline folder."""
    return [f"model.vae.from_pretrained={root}", f"model.unet.from_pretrained={root}",
            f"model.text_encoder.pretrained_model_name_or_path={root}", f"model.tokenizer={root}",
            f"model.scheduler.from_pretrained={root}", f"model.test_scheduler.from_pretrained={root}"]


# SDXL: the UNet reads both encoders' hidden states side by side (16 + 16) and an added embedding of
# the second encoder's projected pooled output (16) with the six size numbers (6 × 8)
SDXL_UNET = dict(UNET, cross_attention_dim=32, addition_embed_type="text_time", addition_time_embed_dim=8,
                 projection_class_embeddings_input_dim=16 + 6 * 8)


def build_tiny_sdxl_pipeline(root: Path, seed: int = 0) -> Path:
    """``root`` as a diffusers StableDiffusionXL pipeline folder of tiny random parts; returns ``root``."""
    import torch
    from diffusers import AutoencoderKL, DDPMScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    torch.manual_seed(seed)
    vocab_size = write_tokenizer_files(root / "tokenizer_files")
    tokenizer = CLIPTokenizer(str(root / "tokenizer_files" / "vocab.json"), str(root / "tokenizer_files" / "merges.txt"),
                              model_max_length=TOKEN_LENGTH)
    text_config = CLIPTextConfig(**text_encoder_config(vocab_size))
    pipeline = StableDiffusionXLPipeline(
        vae=AutoencoderKL(**VAE), text_encoder=CLIPTextModel(text_config), tokenizer=tokenizer,
        text_encoder_2=CLIPTextModelWithProjection(text_config), tokenizer_2=tokenizer,
        unet=UNet2DConditionModel(**SDXL_UNET), scheduler=DDPMScheduler(**SCHEDULER))
    pipeline.save_pretrained(str(root))  # with model_index.json: DiffusionPipeline.from_pretrained loads it
    return root


def sdxl_path_options(root: Path) -> list[str]:
    """--cfg-options pointing MMagic's StableDiffusionXL config at the tiny SDXL folder (its schedulers are
    EditDDIMScheduler dicts, nothing to load)."""
    return [f"model.vae.from_pretrained={root}", f"model.unet.from_pretrained={root}",
            f"model.text_encoder_one.pretrained_model_name_or_path={root}", f"model.tokenizer_one={root}",
            f"model.text_encoder_two.pretrained_model_name_or_path={root}", f"model.tokenizer_two={root}"]
