"""Guided and disco diffusion trials: their published weights (ADM checkpoints, disco's UNet and secondary
model, OpenAI's CLIPs) stood in for by random networks of the config's layout — levels, res-blocks,
attention positions, classes — at tiny widths and the smallest side the levels allow (a full-width
ADM UNet is 550M parameters), 2 sampling steps. Disco's CLIPs become a tiny random transformers CLIP
(``diffusion.build_tiny_clip``) and it samples a given prompt. Needs the ``diffusion`` extra."""
from __future__ import annotations

import hashlib
from pathlib import Path

from .options import metric_dicts

SAMPLING_ONLY = ("AblatedDiffusionModel", "ADM", "GuidedDiffusion")  # tested from a (stand-in) checkpoint
DISCO = ("DiscoDiffusion", "disco", "dd")
TINY_UNET = dict(base_channels=16, norm_cfg=dict(type="GN32", num_groups=8))
TRIAL_PROMPT = "a photo of a red circle"


def tiny_unet(unet: dict) -> dict:
    """The DenoisingUnet dict at tiny width: channel factors and attention kept, the side the smallest
    its levels allow (at least 16 px, so that each level keeps a pixel)."""
    from mgx.plugins.models.ddpm.denoising_unet import DEFAULT_CHANNELS

    factors = list(unet.get("channels_cfg") or DEFAULT_CHANNELS.get(unet.get("image_size"), [1, 2, 3, 4]))
    attention = dict(unet.get("attention_cfg") or {}, num_head_channels=8)
    return dict(unet, **TINY_UNET, image_size=max(16, 2 ** (len(factors) - 1)), channels_cfg=factors,
                attention_cfg=attention)


def _unet_options(unet: dict) -> list[str]:
    tiny = tiny_unet(unet)
    return [f"model.unet.{key}={tiny[key]!r}".replace(" ", "") for key in
            ("image_size", "channels_cfg", "base_channels", "norm_cfg", "attention_cfg")]


def guided_diffusion_options(cfg: dict) -> list[str]:
    """An ADM config's UNet and classifier at tiny widths, 2 steps for the grids and for every metric's
    ``sample_kwargs``; [] for another model."""
    model = cfg.get("model") or {}
    if model.get("type") not in SAMPLING_ONLY:
        return []
    side = tiny_unet(model.get("unet") or {})["image_size"]
    options = [*_unet_options(model.get("unet") or {}), "model.num_inference_steps=2", "model.num_images_per_label=2"]
    classifier = model.get("classifier")
    if isinstance(classifier, dict):  # (its norms have 32 groups: every level at least 32 channels)
        narrowest = min(classifier.get("channel_mult") or [1])
        options += [f"model.classifier.image_size={side}", "model.classifier.num_head_channels=32",
                    f"model.classifier.model_channels={int(32 / min(narrowest, 1))}"]
    return options + [f"{path}.sample_kwargs.num_inference_steps=2" for path, metric in metric_dicts(cfg)
                      if isinstance(metric.get("sample_kwargs"), dict)]


def disco_diffusion_options(cfg: dict, folder: Path) -> list[str]:
    """A disco config's UNet at tiny width, its ``pretrained_cfgs`` files stood in for (random networks in
    MMEngine's layout, under the config's prefix), its CLIPs by a tiny random CLIP folder, a prompt, 2
    steps and one cutout batch; [] for another model."""
    import torch

    from mgx.core.registry import build

    from .diffusion import build_tiny_clip

    model = cfg.get("model") or {}
    if model.get("type") not in DISCO:
        return []
    clip = folder / "tiny_clip"
    if not (clip / "config.json").is_file():
        build_tiny_clip(clip)
    options = [*_unet_options(model.get("unet") or {}), f"model.val_prompts=[{TRIAL_PROMPT!r}]",
               "model.infer_kwargs=dict(num_inference_steps=2,cutn_batches=1)"]
    options += [f"model.clip_models.{index}.name={clip}" for index, _ in enumerate(model.get("clip_models") or [])]
    for key, pretrained in (model.get("pretrained_cfgs") or {}).items():
        network = tiny_unet(model["unet"]) if key == "unet" else model.get(key)
        digest = hashlib.sha256(repr(network).encode()).hexdigest()[:8]  # one file per network layout
        target = folder / f"disco_{key}_{digest}-random.pth"
        if not target.is_file():
            torch.manual_seed(0)
            prefix = f"{pretrained['prefix']}." if pretrained.get("prefix") else ""
            state = build(network, "model").state_dict()
            folder.mkdir(parents=True, exist_ok=True)
            torch.save({"state_dict": {prefix + name: value for name, value in state.items()}}, target)
        options.append(f"model.pretrained_cfgs.{key}.ckpt_path={target}")
    return options
