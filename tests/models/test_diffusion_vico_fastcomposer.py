"""MMagic 1.2.0's ViCo and FastComposer configs (copied unchanged into tests/mmagic/configs/) through the
CLI at tiny size — ViCo trains 2 iterations and samples, FastComposer (inference-only in MMagic)
samples — with tiny random diffusers/transformers parts standing in for the hub names
(benchmarks/zoo_data/diffusion.py); MMagic's state-dict keys and parameter counts of the parts MMagic
defines itself; Otsu's masks and the fusion MLP against float64 computations of their definitions."""
from __future__ import annotations

import pytest
import torch

pytest.importorskip("diffusers")

from gan_zoo_helpers import CONFIGS, run_ok  # noqa: E402

from mgx.benchmarks.zoo_data import Sizes  # noqa: E402
from mgx.core.errors import ConfigError  # noqa: E402
from mgx.benchmarks.zoo_data.diffusion import (build_tiny_pipeline, fastcomposer_options,  # noqa: E402
                                               model_path_options, write_textual_inversion_dataset,
                                               write_trial_image)

SAMPLING = ["model.num_inference_steps=2", "model.num_images_per_prompt=1"]
VICO_LAYERS = [0] * 6 + [0] + [0, 1, 0, 1, 0, 1, 0, 1, 0]  # the config's image_cross_layers
# SD 1.5's UNet (runwayml/stable-diffusion-v1-5's unet/config.json, the defaults aside)
SD15_UNET = dict(sample_size=64, cross_attention_dim=768, block_out_channels=(320, 640, 1280, 1280),
                 attention_head_dim=8, layers_per_block=2)


@pytest.fixture(scope="module")
def tiny_sd15(tmp_path_factory):
    return build_tiny_pipeline(tmp_path_factory.mktemp("tiny_sd15"), sd15_layout=True)


def _grids(folder) -> list:
    return sorted(folder.glob("samples/*/iter_*.png"))


def test_vico_config_trains_the_token_and_image_cross_attention_and_samples(tmp_path, monkeypatch, tiny_sd15):
    from safetensors.torch import load_file
    from transformers import CLIPTextModel

    config = CONFIGS / "vico" / "vico.py"
    write_textual_inversion_dataset(dict(data_root="./data/vico", concept_dir="dog7",
                                         template="data/vico/imagenet_templates_small.txt"), tmp_path,
                                    Sizes(image=16, count=4))
    reference = write_trial_image(tmp_path / "reference.png")
    options = [*model_path_options(tiny_sd15), *SAMPLING, f"model.val_image_reference={reference}"]
    run_ok(["run", "train", str(config), "--work-dir", str(tmp_path / "work"), "--no-track", "--cfg-options",
            "train_cfg.max_iters=2", "train_dataloader.num_workers=0", "train_dataloader.persistent_workers=False",
            "train_dataloader.dataset.pipeline.2.scale=(16,16)", *options],
           tmp_path, monkeypatch)
    state = torch.load(tmp_path / "work" / "iter_2.pth", weights_only=False)["model"]
    cross = sorted(key for key in state if ".image_cross_attention." in key)
    # the config's four image cross-attentions, in diffusers' module order (down, up, mid)
    assert sorted({key.split(".image_cross_attention.")[0] for key in cross}) == [
        "unet.up_blocks.1.attentions.2", "unet.up_blocks.2.attentions.1", "unet.up_blocks.3.attentions.0",
        "unet.up_blocks.3.attentions.2"]
    text = CLIPTextModel.from_pretrained(str(tiny_sd15 / "text_encoder")).state_dict()
    (table,) = [key for key in text if key.endswith("token_embedding.weight")]
    (token,) = [key for key in state if key.endswith("trainable_embeddings.S*")]
    assert not torch.equal(state[token][0], text[table][2 + ord("d") - ord("a")])  # moved from 'dog''s first token
    # the export: diffusers' folder with the plain UNet, and the image cross-attentions beside it
    extra = load_file(str(tmp_path / "work" / "diffusers" / "image_cross_attention.safetensors"))
    assert sorted(f"unet.{key}" for key in extra) == cross
    assert all(torch.equal(extra[key[len("unet."):]], state[key]) for key in cross)
    run_ok(["run", "test", str(config), str(tmp_path / "work" / "iter_2.pth"), "--work-dir", str(tmp_path / "test"),
            "--no-track", "--cfg-options", *options], tmp_path, monkeypatch)
    assert len(_grids(tmp_path / "test")) == 1  # the config's one val_prompt


def test_vico_loads_mmagic_keys_and_counts_mmagic_parameters(tiny_sd15):
    from mgx.core.engine.checkpoint_state import load_model_weights
    from mgx.core.plugins import PluginManager
    from mgx.core.registry import build
    from mgx.plugins.models.vico.attention import ViCoState, set_vico_modules

    PluginManager(["mgx.plugins.models"]).activate()
    root = str(tiny_sd15)
    model = build(dict(
        type="ViCo", vae=dict(type="AutoencoderKL", from_pretrained=root, subfolder="vae"),
        unet=dict(type="UNet2DConditionModel", from_pretrained=root, subfolder="unet"),
        text_encoder=dict(type="ClipWrapper", pretrained_model_name_or_path=root, subfolder="text_encoder"),
        tokenizer=root, scheduler=dict(type="DDPMScheduler", from_pretrained=root, subfolder="scheduler"),
        image_cross_layers=VICO_LAYERS, reg_loss_weight=5e-4, placeholder="S*", initialize_token="dog",
        val_prompts=["a photo of a S*"]), "model")

    def mmagic_name(key: str) -> str:
        """MMagic's key: its wrappers' ``model.`` level, transformers 4's ``text_model.`` level."""
        for part in ("unet.", "vae."):
            if key.startswith(part):
                return part + "model." + key[len(part):]
        inner = key[len("text_encoder."):]
        return "text_encoder.model." + ("" if inner.startswith("text_model.") else "text_model.") + inner

    own = model.state_dict()
    mmagic = {mmagic_name(key): torch.randn_like(value) for key, value in own.items()}
    # names MMagic's vico_utils.py / clip_wrapper.py give these parameters
    assert "unet.model.up_blocks.3.attentions.2.image_cross_attention.attn2.to_k.weight" in mmagic
    assert "unet.model.up_blocks.3.attentions.2.image_cross_attention.ff.net.0.proj.weight" in mmagic
    assert "text_encoder.model.text_model.embeddings.token_embedding.trainable_embeddings.S*" in mmagic
    load_model_weights(model, mmagic, "an MMagic ViCo checkpoint")
    loaded = model.state_dict()
    assert all(torch.equal(loaded[key], mmagic[mmagic_name(key)]) for key in own)
    # the parameters MMagic's ViCo adds to SD 1.5's UNet for the published config: four
    # BasicTransformerBlock(d) (20·d² + 17·d each) at d = 1280, 640, 320, 320
    with torch.device("meta"):
        from diffusers import UNet2DConditionModel

        unet = UNet2DConditionModel(**SD15_UNET)
        with pytest.raises(ConfigError, match="16 transformers"):  # (checked before anything changes)
            set_vico_modules(unet, VICO_LAYERS[:-1], ViCoState())
        set_vico_modules(unet, VICO_LAYERS, ViCoState())
    added = sum(p.numel() for name, p in unet.named_parameters() if ".image_cross_attention." in name)
    assert added == 45_099_520 == sum(20 * d * d + 17 * d for d in (1280, 640, 320, 320))
    with pytest.raises(ConfigError, match="model.val_image_reference"):
        model.prompt_grids(0)


def test_otsu_matches_its_float64_definition():
    from mgx.plugins.models.vico.attention import otsu

    def definition(row: list[float]) -> list[float]:
        low_value, high_value = min(row), max(row)
        normed = [(v - low_value) / (high_value - low_value) for v in row]
        best, threshold = 0.0, 0.0
        for t in range(10):
            low = [v for v in normed if v < t * 0.1]
            high = [v for v in normed if v >= t * 0.1]
            if low and high:
                g = len(low) / len(row) * len(high) / len(row) * (sum(low) / len(low) - sum(high) / len(high)) ** 2
                if g > best:
                    best, threshold = g, t * 0.1
        return [0.0 if v < threshold else 1.0 if v > threshold else v for v in normed]

    maps = torch.rand(5, 37, generator=torch.Generator().manual_seed(0), dtype=torch.float64) ** 3
    expected = torch.tensor([definition(row) for row in maps.tolist()], dtype=torch.float64)
    assert torch.equal(otsu(maps), expected)
    assert 0 < float(expected.mean()) < 1


def test_fastcomposer_fusion_matches_its_float64_definition_with_mmagic_keys():
    from torch.nn import functional as F

    from mgx.plugins.models.fastcomposer.modules import FastComposerPostfuseModule

    assert sum(p.numel() for p in FastComposerPostfuseModule(768).parameters()) == 2_958_336  # SD 1.5's width
    fuse = FastComposerPostfuseModule(4).double()
    # MMagic's FastComposerPostfuseModule / MLP attribute names
    assert sorted(fuse.state_dict()) == sorted([f"{mlp}.{layer}.{kind}" for mlp in ("mlp1", "mlp2")
                                                for layer in ("layernorm", "fc1", "fc2") for kind in ("weight", "bias")]
                                               + ["layer_norm.weight", "layer_norm.bias"])
    generator = torch.Generator().manual_seed(1)
    for parameter in fuse.parameters():
        parameter.data = torch.randn(parameter.shape, generator=generator, dtype=torch.float64)
    text = torch.randn(2, 5, 4, generator=generator, dtype=torch.float64)
    objects = torch.randn(2, 2, 1, 4, generator=generator, dtype=torch.float64)
    mask = torch.tensor([[0, 1, 0, 1, 0], [0, 0, 1, 0, 0]], dtype=torch.bool)
    fused = fuse(text.clone(), objects, mask, torch.tensor([2, 1]))

    def mlp(prefix: str, x: torch.Tensor, residual: bool) -> torch.Tensor:
        p = {name[len(prefix) + 1:]: value for name, value in fuse.named_parameters() if name.startswith(prefix)}
        h = F.layer_norm(x, x.shape[-1:], p["layernorm.weight"], p["layernorm.bias"])
        h = F.gelu(h @ p["fc1.weight"].T + p["fc1.bias"]) @ p["fc2.weight"].T + p["fc2.bias"]
        return h + x if residual else h

    expected = text.clone()
    for (row, token), subject in zip([(0, 1), (0, 3), (1, 2)], [objects[0, 0, 0], objects[0, 1, 0], objects[1, 0, 0]]):
        t = text[row, token]
        h = mlp("mlp2", mlp("mlp1", torch.cat([t, subject]), False) + t, True)
        expected[row, token] = F.layer_norm(h, (4,), fuse.layer_norm.weight, fuse.layer_norm.bias)
    assert torch.allclose(fused, expected, rtol=1e-12, atol=1e-12)


def test_fastcomposer_config_samples_its_subjects(tmp_path, monkeypatch, tiny_sd15):
    config = CONFIGS / "fastcomposer" / "fastcomposer_8xb16_FFHQ.py"
    options = [*model_path_options(tiny_sd15), *SAMPLING, *fastcomposer_options({}, tiny_sd15, tmp_path)]
    run_ok(["run", "test", str(config), "--work-dir", str(tmp_path / "test"), "--no-track", "--cfg-options",
            *options], tmp_path, monkeypatch)
    assert len(_grids(tmp_path / "test")) == 1


def test_fastcomposer_loads_its_finetuned_weights_and_mmagic_keys(tmp_path, tiny_sd15):
    from mgx.core.config import load_config, to_plain
    from mgx.core.engine.checkpoint_state import load_model_weights
    from mgx.core.plugins import PluginManager
    from mgx.core.registry import build

    PluginManager(["mgx.plugins.models"]).activate()
    options = [*model_path_options(tiny_sd15), *fastcomposer_options({}, tiny_sd15, tmp_path)]
    cfg = to_plain(load_config(str(CONFIGS / "fastcomposer" / "fastcomposer_8xb16_FFHQ.py"), options))
    model = build(cfg["model"], "model")
    published = torch.load(tmp_path / "fastcomposer-random.bin")
    assert all(torch.equal(model.state_dict()[key], value) for key, value in published.items())
    ids, mask = model.augmented_ids("a circle img on a table")
    tokens = model.special_tokenizer.convert_ids_to_tokens(ids[0, :int(mask[0].nonzero()[0, 0]) + 1].tolist())
    assert "".join(tokens).replace("</w>", " ").split()[-1] == "circle"  # the word before 'img' is marked
    assert int(mask.sum()) == 1 and model.image_token_id not in ids[0].tolist()
    # MMagic's keys: the parts unwrapped, FastComposerTextEncoder's without a ``text_model.`` level
    own = model.state_dict()
    mmagic = {key.replace("text_encoder.text_model.", "text_encoder."): torch.randn_like(value)
              for key, value in own.items()}
    assert {"image_encoder.visual_projection.weight", "postfuse_module.mlp1.fc1.weight",
            "text_encoder.final_layer_norm.weight"} <= set(mmagic)
    load_model_weights(model, mmagic, "an MMagic FastComposer checkpoint")
    assert torch.equal(model.state_dict()["postfuse_module.layer_norm.bias"], mmagic["postfuse_module.layer_norm.bias"])
