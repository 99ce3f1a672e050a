"""Diffusion trials: tiny random pipeline folders built from config dicts and written with
``save_pretrained`` — Stable Diffusion (unet, vae, text_encoder, tokenizer, scheduler, and a
``controlnet`` matching the UNet; an inpainting UNet on request), Stable Diffusion XL, and a CLIP model
for CLIPScore — which MMagic's configs' ``from_pretrained`` names are pointed at (16×16 images, 8×8
latents, a character-level CLIP tokenizer); the diffusion datasets' layouts (DreamBooth's and Textual
Inversion's concept folders, Textual Inversion's template file, ControlNet's fill50k); and what an
inference-only config samples (prompts, a conditioning image). Needs the ``diffusion`` extra."""
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
# Stable Diffusion 1.5's block layout (3 cross-attention down blocks, 2 transformers each; a cross-attention
# middle block; 3 cross-attention up blocks, 3 each: 16 transformers in all) at tiny widths, for configs
# that name its transformers one by one (ViCo's image_cross_layers)
UNET_SD15_LAYOUT = dict(UNET, layers_per_block=2, block_out_channels=(4, 4, 8, 8),
                        down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
                        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3)
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


def build_tiny_clip(folder: Path, seed: int = 1, projection_dim: int = 8) -> Path:
    """``folder`` holding a tiny random ``transformers.CLIPModel`` (16-px images) and its tokenizer, as
    ``CLIPScore(clip_model=folder)`` loads them (FastComposer's image encoder: ``projection_dim`` 16, the
    text encoder's width)."""
    import torch
    from transformers import CLIPConfig, CLIPModel, CLIPTokenizer

    vocab = write_tokenizer_files(folder)
    text = dict(vocab_size=vocab, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                max_position_embeddings=TOKEN_LENGTH, bos_token_id=0, eos_token_id=1, pad_token_id=1)
    vision = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, image_size=16,
                  patch_size=8)
    torch.manual_seed(seed)
    CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=projection_dim)).save_pretrained(str(folder))
    CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"),
                  model_max_length=TOKEN_LENGTH).save_pretrained(str(folder))
    return folder


def build_tiny_pipeline(root: Path, seed: int = 0, inpaint: bool = False, sd15_layout: bool = False,
                        unet: dict | None = None) -> Path:
    """``root`` as a diffusers pipeline folder of tiny random parts (an inpainting UNet, 4 + 1 + 4 input
    channels, with ``inpaint``; Stable Diffusion 1.5's block layout with ``sd15_layout``; ``unet``: the
    UNet's arguments instead of either); returns ``root``."""
    import torch
    from diffusers import AutoencoderKL, ControlNetModel, DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    vocab_size = write_tokenizer_files(root / "tokenizer_files")
    tokenizer = CLIPTokenizer(str(root / "tokenizer_files" / "vocab.json"), str(root / "tokenizer_files" / "merges.txt"),
                              model_max_length=TOKEN_LENGTH)
    tokenizer.save_pretrained(str(root / "tokenizer"))
    CLIPTextModel(CLIPTextConfig(**text_encoder_config(vocab_size))).save_pretrained(str(root / "text_encoder"))
    unet = unet or (UNET_SD15_LAYOUT if sd15_layout else UNET)
    UNet2DConditionModel(**dict(unet, in_channels=9 if inpaint else 4)).save_pretrained(str(root / "unet"))
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


def _mentions(value: Any, keys: tuple[str, ...]) -> bool:
    if isinstance(value, dict):
        return any(key in value for key in keys) or any(_mentions(item, keys) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(_mentions(item, keys) for item in value)
    return False


# the diffusion models whose weights all come from their config: an inference-only config of one is
# tested without a checkpoint (`mgx run test CFG`)
PRETRAINED_MODELS = ("StableDiffusion", "StableDiffusionInpaint", "StableDiffusionXL", "ControlStableDiffusion",
                     "ControlStableDiffusionImg2Img", "DreamBooth", "TextualInversion", "DiffusionPipeline", "ViCo",
                     "FastComposer", "AnimateDiff", "DiscoDiffusion", "disco", "dd")
SAMPLING = ["model.num_inference_steps=2", "model.num_images_per_prompt=1"]
TRIAL_PROMPTS = "model.val_prompts=['a photo of a red circle']"


def _tiny(folder: Path, name: str, build) -> Path:
    root = folder / name
    if not (root / "vae").is_dir():
        build(root)
    return root


def stand_in_pipeline_options(cfg: dict, folder: Path) -> list[str]:
    """For a config whose model loads diffusers/transformers parts by name: a tiny pipeline of its kind
    (built once under ``folder``: SD, SD inpainting or SDXL), the overrides pointing the names (and a
    ControlNet's) at it, and 2 sampling steps, one image per prompt; a config with neither prompts nor
    an evaluator (nothing `mgx run test` could show) also gets a prompt to sample and the conditioning
    or initial image it needs. [] for any other config."""
    model = cfg.get("model") or {}
    if not _mentions(model, ("from_pretrained", "pretrained_model_name_or_path")):
        return []
    kind = model.get("type")
    if kind == "AnimateDiff":
        from .animatediff import animatediff_options

        return animatediff_options(model, folder)
    if kind in ("StableDiffusionXL", "DiffusionPipeline"):
        root = _tiny(folder, "tiny_sdxl", build_tiny_sdxl_pipeline)
        paths = sdxl_path_options(root) + [f"model.from_pretrained={root}"]
    else:
        inpaint, sd15 = kind == "StableDiffusionInpaint", kind == "ViCo"  # (ViCo names SD 1.5's transformers)
        root = _tiny(folder, "tiny_sd_inpaint" if inpaint else "tiny_sd15" if sd15 else "tiny_sd",
                     lambda where: build_tiny_pipeline(where, inpaint=inpaint, sd15_layout=sd15))
        paths = model_path_options(root) + [f"model.controlnet.{key}={root}" for key in ("from_pretrained", "from_config")]
    options = [option for option in paths if _has_path(model, option.split("=", 1)[0].split(".")[1:])]
    if isinstance(model.get("controlnet"), dict):
        options.append("model.controlnet.subfolder=controlnet")
    if kind not in PRETRAINED_MODELS:
        return options + (["model.num_inference_steps=2"] if "num_inference_steps" in model else [])
    options += SAMPLING
    if kind == "FastComposer":
        return options + fastcomposer_options(model, root, folder)
    if kind == "ViCo" and model.get("val_prompts") and not model.get("val_image_reference"):
        options.append(f"model.val_image_reference={write_trial_image(folder / 'trial_reference.png')}")
    if not model.get("val_prompts") and not (cfg.get("test_evaluator") or cfg.get("val_evaluator")):
        options.append(TRIAL_PROMPTS)
        image = write_trial_image(folder / "trial_control.png")
        if kind.startswith("ControlStableDiffusion"):
            options.append(f"model.val_controls={image}")
        if kind == "StableDiffusionInpaint":
            options.append(f"model.val_images={image}")
    return options


def fastcomposer_options(model: dict, root: Path, folder: Path) -> list[str]:
    """FastComposer's other downloads stood in for (``pretrained_cfg``: the SD folder whose tokenizer gains
    ``img``, a tiny CLIP whose projection is the text width, and its published fine-tuned weights, here
    a random fusion MLP in MMagic's keys), and one prompt with one subject to sample."""
    import torch

    from mgx.plugins.models.fastcomposer.modules import FastComposerPostfuseModule

    clip = folder / "tiny_clip16"
    if not (clip / "config.json").is_file():
        build_tiny_clip(clip, projection_dim=16)
    weights = folder / "fastcomposer-random.bin"
    if not weights.is_file():
        torch.manual_seed(3)
        fuse = FastComposerPostfuseModule(16).state_dict()
        torch.save({f"postfuse_module.{key}": value for key, value in fuse.items()}, weights)
    options = [f"model.pretrained_cfg.pretrained_model_name_or_path={root}", f"model.pretrained_cfg.image_encoder={clip}",
               f"model.pretrained_cfg.finetuned_model_path={weights}"]
    if not model.get("val_prompts"):
        subject = write_trial_image(folder / "trial_control.png")
        options += ["model.val_prompts=['a circle img on a table']", f"model.val_reference_images=['{subject}']"]
    return options


def write_trial_image(path: Path, size: int = 16) -> Path:
    """One fill50k-style outline (a ControlNet's conditioning image, an image to inpaint)."""
    if not path.is_file():
        source, _, _ = circle_pair(np.random.default_rng(7), size)
        save_image(source, path)
    return path


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


@writer("TextualInversionDataset")
def write_textual_inversion_dataset(dataset: dict, root: Path, sizes: Sizes) -> Path:
    """MMagic's TextualInversionDataset: the concept's images in ``data_root/concept_dir`` and the
    ``template`` file of prompts (relative to ``root``, the working directory, as MMagic reads it)."""
    folder = write_dreambooth_dataset(dataset, root, sizes)
    if dataset.get("template"):
        template = under(root, dataset["template"])
        template.parent.mkdir(parents=True, exist_ok=True)
        template.write_text("a photo of a {}\na rendering of a {}\na picture of the {}\n")
    return folder


def circle_pair(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray, str]:
    """(outline on black, filled circle on a coloured background, its prompt), as fill50k draws them."""
    y, x = np.mgrid[:size, :size]
    cy, cx = rng.uniform(size * 0.3, size * 0.7, 2)
    radius = rng.uniform(size * 0.15, size * 0.3)
    distance = np.hypot(y - cy, x - cx)
    fill, background = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    source = np.zeros((size, size, 3), np.uint8)
    source[np.abs(distance - radius) < 1.0] = 255
    target = np.where((distance <= radius)[..., None], fill, background).astype(np.uint8)
    return source, target, f"a circle of colour {tuple(int(v) for v in fill)} on {tuple(int(v) for v in background)}"


@writer("ControlNetDataset")
def write_controlnet_dataset(dataset: dict, root: Path, sizes: Sizes) -> Path:
    """MMagic's ControlNetDataset (ControlNet's fill50k layout): ``data_root/source/<n>.png`` outlines,
    ``target/<n>.png`` filled circles and ``ann_file`` (prompt.json), one JSON object per line."""
    data_root = under(root, dataset.get("data_root", "./data/fill50k"))
    control_key, image_key = dataset.get("control_key", "source"), dataset.get("image_key", "target")
    rng = np.random.default_rng(5)
    lines = []
    for index in range(max(2, sizes.count)):
        source, target, prompt = circle_pair(rng, sizes.image)
        save_image(source, data_root / "source" / f"{index}.png")
        save_image(target, data_root / "target" / f"{index}.png")
        lines.append(json.dumps({control_key: f"source/{index}.png", image_key: f"target/{index}.png",
                                 "prompt": prompt}))
    (data_root / dataset.get("ann_file", "prompt.json")).write_text("\n".join(lines) + "\n")
    return data_root
