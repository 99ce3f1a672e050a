"""Guided diffusion (ADM): MMagic's DenoisingUnet and EncoderUNetModel under MMagic's state-dict keys and
parameter counts, classifier-guided DDIM against a float64 computation of its definition, and MMagic's
adm-g 64×64 config (copied unchanged into tests/mmagic/configs/) sampling its class grids and FID through
``mgx run test`` from a checkpoint in MMagic's layout given as ``load_from``."""
from __future__ import annotations

import json

import pytest
import torch

pytest.importorskip("diffusers")

from gan_zoo_helpers import CONFIGS, loader_options, run_ok, tiny_metric_options, write_class_folders  # noqa: E402

from mgx.plugins.models.ddpm import DenoisingUnet  # noqa: E402
from mgx.plugins.models.guided_diffusion import AblatedDiffusionModel, EncoderUNetModel  # noqa: E402

ATTENTION = dict(type="MultiHeadAttentionBlock", num_heads=4, num_head_channels=4, use_new_attention_order=False)


def tiny_unet(**overrides) -> DenoisingUnet:
    args = dict(image_size=16, base_channels=8, resblocks_per_downsample=1, attention_res=(8,), channels_cfg=[1, 2],
                norm_cfg=dict(type="GN32", num_groups=4), num_classes=5, resblock_updown=True,
                attention_cfg=ATTENTION, use_scale_shift_norm=True)
    return DenoisingUnet(**{**args, **overrides})


def tiny_classifier() -> EncoderUNetModel:
    return EncoderUNetModel(image_size=16, in_channels=3, model_channels=32, out_channels=5, num_res_blocks=1,
                            attention_resolutions=(2,), channel_mult=(1, 1), num_head_channels=16,
                            use_scale_shift_norm=True, resblock_updown=True, pool="attention")


def randomised(module: torch.nn.Module, seed: int = 0, std: float = 0.1) -> torch.nn.Module:
    """Every weight drawn (the zero-initialised output layers would hide errors)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * std)
    return module


def test_state_dict_keys_are_mmagics():
    # read off MMagic's denoising_unet.py: in_blocks = [conv, res, down-res, res + attention] (attention where
    # image_size // 8 = 2 is the scale), mid = res, attention, res; out_blocks = per level 2 res-blocks, the
    # first level's with attention and an up-res; 'out' is MMCV's ConvModule (norm 'gn', 'conv')
    keys = set(tiny_unet().state_dict())
    expected = {"time_embedding.blocks.0.weight", "time_embedding.blocks.2.bias", "label_embedding.weight",
                "in_blocks.0.0.weight", "in_blocks.1.0.conv_1.0.weight", "in_blocks.1.0.conv_1.2.weight",
                "in_blocks.1.0.norm_with_embedding.norm.weight",
                "in_blocks.1.0.norm_with_embedding.embedding_layer.1.weight",
                "in_blocks.1.0.conv_2.2.weight", "in_blocks.2.0.conv_1.2.weight", "in_blocks.3.0.shortcut.weight",
                "in_blocks.3.1.norm.weight", "in_blocks.3.1.qkv.weight", "in_blocks.3.1.proj_out.bias",
                "mid_blocks.0.conv_1.0.bias", "mid_blocks.1.qkv.bias", "mid_blocks.2.conv_2.2.bias",
                "out_blocks.0.0.shortcut.weight", "out_blocks.0.1.qkv.weight", "out_blocks.1.2.conv_1.2.weight",
                "out_blocks.3.0.conv_2.2.weight", "out.gn.weight", "out.conv.weight", "out.conv.bias"}
    assert expected <= keys
    assert not any(key.startswith(("in_blocks.4", "out_blocks.4", "in_blocks.2.1")) for key in keys)
    # OpenAI's classifier keys, which MMagic's EncoderUNetModel keeps
    keys = set(tiny_classifier().state_dict())
    assert {"time_embed.0.weight", "input_blocks.0.0.weight", "input_blocks.1.0.in_layers.2.weight",
            "input_blocks.1.0.emb_layers.1.weight", "input_blocks.1.0.out_layers.3.weight",
            "input_blocks.2.0.in_layers.0.weight", "input_blocks.3.1.qkv.weight", "middle_block.1.proj_out.weight",
            "out.0.weight", "out.2.positional_embedding", "out.2.qkv_proj.weight", "out.2.c_proj.bias"} <= keys


def test_parameter_counts_of_the_published_64px_networks():
    # OpenAI's ImageNet 64×64 ADM: 296M parameters (Dhariwal & Nichol, table 7: the 256/512 ones, 554M/559M,
    # come out the same way); built on the meta device, no memory
    with torch.device("meta"):
        unet = DenoisingUnet(image_size=64, base_channels=192, resblocks_per_downsample=3, attention_res=(32, 16, 8),
                             norm_cfg=dict(type="GN32", num_groups=32), dropout=0.1, num_classes=1000,
                             resblock_updown=True, use_scale_shift_norm=True,
                             attention_cfg=dict(ATTENTION, num_head_channels=64, use_new_attention_order=True))
        classifier = EncoderUNetModel(image_size=64, in_channels=3, model_channels=128, out_channels=1000,
                                      num_res_blocks=4, attention_resolutions=(2, 4, 8), channel_mult=(1, 2, 3, 4),
                                      num_head_channels=64, use_scale_shift_norm=True, resblock_updown=True,
                                      pool="attention")
    assert sum(p.numel() for p in unet.parameters()) == 295_904_454
    assert sum(p.numel() for p in classifier.parameters()) == 65_438_568


def _reference_guided_ddim(model: AblatedDiffusionModel, noise: torch.Tensor, labels: torch.Tensor, steps: int,
                           scale: float) -> torch.Tensor:
    """DDIM (η = 0) with classifier guidance written out in float64: ε' = ε − √(1−ᾱ_t)·s·∇ log p(y|x_t),
    x̂₀ = clip((x − √(1−ᾱ_t)·ε') / √ᾱ_t), x_prev = √ᾱ_prev·x̂₀ + √(1−ᾱ_prev)·ε';
    ᾱ from the linear betas."""
    unet, classifier = model.unet.double(), model.classifier.double()
    betas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
    alpha_bar = torch.cumprod(1 - betas, 0)
    x = noise.double().reshape(-1, 3, 16, 16)
    stride = 1000 // steps
    for t in range(0, 1000, stride)[::-1]:
        eps = unet(x, torch.tensor(t), label=labels)["sample"][:, :3]
        x_in = x.detach().requires_grad_(True)
        log_probs = torch.log_softmax(classifier(x_in, torch.full((len(x),), t)), -1)
        grad = torch.autograd.grad(log_probs[torch.arange(len(x)), labels].sum(), x_in)[0]
        eps = eps - (1 - alpha_bar[t]).sqrt() * scale * grad
        prev = alpha_bar[t - stride] if t - stride >= 0 else torch.tensor(1.0, dtype=torch.float64)
        x0 = ((x - (1 - alpha_bar[t]).sqrt() * eps) / alpha_bar[t].sqrt()).clamp(-1, 1)
        x = (prev.sqrt() * x0 + (1 - prev).sqrt() * eps).detach()
    return x


def test_classifier_guided_ddim_matches_its_float64_definition():
    from diffusers import DDIMScheduler

    from mgx.plugins.models.data_preprocessor import DataPreprocessor

    # (a classifier whose logits vary enough with x for its gradient to show; a start within x̂₀'s clipping
    # range, so that the guidance is not clipped away)
    model = AblatedDiffusionModel(unet=randomised(tiny_unet(), 1), classifier=randomised(tiny_classifier(), 2, 0.3),
                                  diffusion_scheduler=DDIMScheduler(beta_schedule="linear"), rgb2bgr=True,
                                  classifier_scale=10.0, data_preprocessor=DataPreprocessor()).eval()
    noise = torch.randn(2, 3 * 16 * 16, generator=torch.Generator().manual_seed(3)) * 0.25
    labels = torch.tensor([1, 4])
    with torch.inference_mode():  # as the metrics and the grids call it: the guidance takes gradients anyway
        sampled = model.sample(noise=noise, labels=labels, num_inference_steps=2)
        unguided = model.sample(noise=noise, labels=labels, num_inference_steps=2, classifier_scale=0)
    reference = _reference_guided_ddim(model, noise, labels, 2, 10.0)
    assert (sampled.double() - reference).abs().max() < 1e-4
    assert (sampled - unguided).abs().max() > 0.05  # the guidance moved the samples


def test_adm_g_config_samples_its_grids_and_fid_from_a_mmagic_checkpoint(tmp_path, monkeypatch):
    from mgx.benchmarks.zoo_data.guided import guided_diffusion_options
    from mgx.core.config import load_config, to_plain
    from mgx.core.registry import build

    config = CONFIGS / "guided_diffusion" / "adm-g_ddim25_8xb32_imagenet-64x64.py"
    widths = guided_diffusion_options(to_plain(load_config(str(config))))
    options = [*widths, *loader_options(write_class_folders(tmp_path / "imagenet", size=16, classes=2, per_class=1)),
               *tiny_metric_options(tmp_path, {"test_evaluator": (0,)}), "model.val_labels=[3]",
               "model.num_images_per_label=1"]
    # a checkpoint in MMagic's layout: 'state_dict' with the networks under unet. and classifier.
    model = build(to_plain(load_config(str(config), widths))["model"], "model")
    randomised(model)
    torch.save({"meta": {}, "state_dict": model.state_dict()}, tmp_path / "adm-g.pth")
    run_ok(["run", "test", str(config), "--work-dir", str(tmp_path / "test"), "--no-track", "--cfg-options",
            *options, f"load_from={tmp_path / 'adm-g.pth'}"], tmp_path, monkeypatch)
    assert [p.parent.name for p in (tmp_path / "test").glob("samples/*/iter_*.png")] == ["class_3"]
    metrics = json.loads((tmp_path / "test" / "test_results.json").read_text())["metrics"]
    assert "FID-Full-50k/fid" in metrics
