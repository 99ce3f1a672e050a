"""MMagic 1.2.0's Textual Inversion, ControlNet, ControlNet-animation, Stable Diffusion (XL) and
diffusers-pipeline configs (copied unchanged into tests/mmagic/configs/) through the CLI, in this
process, at tiny size: a tiny random pipeline folder stands in for the hub names, synthetic data in the
configs' layouts for their data (both benchmarks/zoo_data/diffusion.py); only model
paths, image size, sampling steps, loader workers and iterations are overridden. The trained model is
registered in MLflow as a diffusers folder that diffusers alone loads."""
from __future__ import annotations

import pytest
import torch

pytest.importorskip("diffusers")

from gan_zoo_helpers import CONFIGS, run_ok  # noqa: E402

from mgx.benchmarks.zoo_data import Sizes  # noqa: E402
from mgx.benchmarks.zoo_data.diffusion import (build_tiny_pipeline, build_tiny_sdxl_pipeline,  # noqa: E402
                                               model_path_options, sdxl_path_options, write_controlnet_dataset,
                                               write_textual_inversion_dataset, write_trial_image)

TINY = Sizes(image=16, count=4)
SAMPLING = ["model.num_inference_steps=2", "model.num_images_per_prompt=1"]
LOADER = ["train_cfg.max_iters=2", "train_dataloader.num_workers=0", "train_dataloader.persistent_workers=False",
          "train_dataloader.batch_size=2"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_pipeline(tmp_path_factory.mktemp("tiny_sd"))


def _grids(folder) -> list:
    return sorted(folder.glob("samples/*/iter_*.png"))


def test_textual_inversion_trains_only_its_token_and_registers_a_diffusers_folder(tmp_path, monkeypatch, tiny):
    import mlflow
    from diffusers import StableDiffusionPipeline
    from transformers import CLIPTextModel

    config = CONFIGS / "textual_inversion" / "textual_inversion.py"
    write_textual_inversion_dataset(dict(data_root="./data/", concept_dir="cat_toy",
                                         template="data/imagenet_templates_small.txt"), tmp_path, TINY)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # the workspace's own store, under tmp_path
    run_ok(["run", "train", str(config), "--work-dir", str(tmp_path / "work"), "--cfg-options", *LOADER, *SAMPLING,
            "train_dataloader.dataset.pipeline.1.scale=(16,16)", "tracking.register_model=cat-toy",
            *model_path_options(tiny)], tmp_path, monkeypatch)
    state = torch.load(tmp_path / "work" / "iter_2.pth", weights_only=False)["model"]
    (key,) = [key for key in state if key.endswith("token_embedding.trainable_embeddings.<cat-toy>")]
    trained = state[key]
    original = CLIPTextModel.from_pretrained(str(tiny / "text_encoder")).state_dict()
    (table,) = [key for key in original if key.endswith("token_embedding.weight")]
    initial = original[table][2 + ord("t") - ord("a")]  # the first token of initialize_token 'toy'
    assert not torch.equal(trained[0], initial)  # the new token's vector trained ...
    for key, value in original.items():  # ... and nothing else of the text encoder
        key = key.replace("token_embedding.weight", "token_embedding.wrapped.weight")
        assert torch.equal(state[f"text_encoder.{key}"], value), key
    # the registered model is the diffusers folder: diffusers alone loads it, placeholder included
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    folder = mlflow.artifacts.download_artifacts("models:/cat-toy/1", tracking_uri=uri)
    pipeline = StableDiffusionPipeline.from_pretrained(folder)
    token = pipeline.tokenizer.convert_tokens_to_ids("<cat-toy>")
    assert torch.equal(pipeline.text_encoder.get_input_embeddings().weight[token], trained[0])
    assert pipeline("a <cat-toy>", num_inference_steps=2, output_type="np").images.shape == (1, 16, 16, 3)
    run_ok(["run", "test", str(config), str(tmp_path / "work" / "iter_2.pth"), "--work-dir", str(tmp_path / "test"),
            "--no-track", "--cfg-options", *SAMPLING, *model_path_options(tiny)], tmp_path, monkeypatch)
    assert len(_grids(tmp_path / "test")) == 4  # the config's four val_prompts


def test_controlnet_fill50k_trains_its_controlnet_from_the_unet_and_samples(tmp_path, monkeypatch, tiny):
    config = CONFIGS / "controlnet" / "controlnet-1xb1-fill50k.py"
    write_controlnet_dataset(dict(data_root="./data/fill50k"), tmp_path, TINY)
    paths = [*model_path_options(tiny), f"model.controlnet.from_config={tiny}", "model.controlnet.subfolder=controlnet"]
    run_ok(["run", "train", str(config), "--work-dir", str(tmp_path / "work"), "--no-track", "--cfg-options",
            *LOADER, *paths], tmp_path, monkeypatch)
    state = torch.load(tmp_path / "work" / "iter_2.pth", weights_only=False)["model"]
    assert bool(state["controlnet_initialized"])
    # init_from_unet: the ControlNet (random from_config) started as the UNet's copy, with zeroed output
    # convolutions; two AdamW steps at lr 1e-5 move each weight by at most about 2e-5
    unet_key = "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight"
    assert (state[f"controlnet.{unet_key}"] - state[f"unet.{unet_key}"]).abs().max() < 1e-4
    zero_conv = state["controlnet.controlnet_down_blocks.0.weight"].abs().max()
    assert 0 < zero_conv < 1e-4
    samples = ["model.val_prompts=['a circle']", f"model.val_controls={tmp_path / 'data/fill50k/source/0.png'}"]
    run_ok(["run", "test", str(config), str(tmp_path / "work" / "iter_2.pth"), "--work-dir", str(tmp_path / "test"),
            "--no-track", "--cfg-options", *SAMPLING, *paths, *samples], tmp_path, monkeypatch)
    assert len(_grids(tmp_path / "test")) == 1


def test_inference_only_configs_sample_without_a_checkpoint(tmp_path, monkeypatch, tiny):
    control = write_trial_image(tmp_path / "control.png")
    sdxl = build_tiny_sdxl_pipeline(tmp_path / "tiny_sdxl")
    prompts = ["model.val_prompts=['a cat']"]
    sd_paths = [option for option in model_path_options(tiny) if "scheduler" not in option]  # EditDDIMScheduler
    runs = {
        "controlnet_animation/anythingv3_config.py": [*model_path_options(tiny), f"model.controlnet.from_pretrained={tiny}",
                                                      "model.controlnet.subfolder=controlnet", *prompts,
                                                      f"model.val_controls={control}", "model.strength=0.5"],
        "stable_diffusion_xl/stable-diffusion_xl_ddim_denoisingunet.py": [*sdxl_path_options(sdxl), *prompts],
        "diffusers_pipeline/sd_xl_pipeline.py": [f"model.from_pretrained={sdxl}", *prompts],
        "stable_diffusion/stable-diffusion_ddim_denoisingunet.py": [*sd_paths, *prompts],
    }
    for name, options in runs.items():
        work = tmp_path / name.split("/")[0]
        run_ok(["run", "test", str(CONFIGS / name), "--work-dir", str(work), "--no-track", "--cfg-options",
                *SAMPLING, *options], tmp_path, monkeypatch)
        assert len(_grids(work)) == 1, name
