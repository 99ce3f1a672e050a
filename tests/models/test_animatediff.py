"""MMagic 1.2.0's AnimateDiff on diffusers: the motion-module checkpoint's MMagic names (read from
MMagic's motion_module.py) onto ``UNetMotionModel``, an original-layout DreamBooth file through diffusers'
converters, the published configs' parameter counts, the frame-position table against its float64
definition, and ``animatediff_ToonYou.py`` through ``mgx run test`` with its clip's frame grid and GIF in a
real local MLflow store. Tiny random parts stand in for the pretrained files (benchmarks/zoo_data)."""
from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

pytest.importorskip("diffusers")

from gan_zoo_helpers import CONFIGS, run_ok  # noqa: E402

from mgx.benchmarks.zoo_data.animatediff import (FRAMES, animatediff_options, build_tiny_motion_pipeline,  # noqa: E402
                                                 ldm_state, mmagic_motion_state, write_dreambooth, write_motion_module)
from mgx.core.errors import ConfigError  # noqa: E402
from mgx.plugins.models.animatediff.unet import UNet3DConditionMotionModel  # noqa: E402
from mgx.plugins.models.animatediff.weights import convert_motion_state, load_dreambooth, load_motion_modules  # noqa: E402
from mlflow_runs import every_run  # noqa: E402

MOTION = dict(num_attention_heads=8, num_transformer_block=1, attention_block_types=["Temporal_Self", "Temporal_Self"],
              temporal_position_encoding=True, temporal_position_encoding_max_len=24, temporal_attention_dim_div=1)
UNET = dict(subfolder="unet", use_motion_module=True, motion_module_type="Vanilla", motion_module_kwargs=MOTION)
# one VanillaTemporalModule's state-dict names in MMagic 1.2.0 (models/editors/animatediff/motion_module.py:
# temporal_transformer = TemporalTransformer3DModel(norm, proj_in, transformer_blocks, proj_out); a
# TemporalTransformerBlock holds attention_blocks (VersatileAttention: to_q/to_k/to_v without bias, to_out.0,
# pos_encoder.pe), norms, ff (GEGLU proj, Linear) and ff_norm)
MMAGIC_MODULE_KEYS = sorted(
    [f"temporal_transformer.{name}.{kind}" for name in ("norm", "proj_in", "proj_out") for kind in ("weight", "bias")]
    + [f"temporal_transformer.transformer_blocks.0.attention_blocks.{a}.{name}" for a in (0, 1)
       for name in ("to_q.weight", "to_k.weight", "to_v.weight", "to_out.0.weight", "to_out.0.bias", "pos_encoder.pe")]
    + [f"temporal_transformer.transformer_blocks.0.{name}.{kind}" for name in ("norms.0", "norms.1", "ff.net.0.proj",
                                                                              "ff.net.2", "ff_norm")
       for kind in ("weight", "bias")])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_motion_pipeline(tmp_path_factory.mktemp("tiny_sd_motion"))


def _unet(tiny, **changes):
    return UNet3DConditionMotionModel(from_pretrained=str(tiny), **{**UNET, **changes})


def test_an_mmagic_motion_checkpoint_loads_into_every_motion_module(tiny, tmp_path):
    source = _unet(tiny)
    checkpoint = write_motion_module(tmp_path / "mm.ckpt", source)
    mmagic = torch.load(checkpoint, weights_only=True)
    first = sorted(key[len("down_blocks.0.motion_modules.0."):] for key in mmagic
                   if key.startswith("down_blocks.0.motion_modules.0."))
    assert first == MMAGIC_MODULE_KEYS
    # 2 down blocks × 1 layer + 2 up blocks × 2 layers, no mid block (motion_module_mid_block=False)
    assert len({key.split(".temporal_transformer.")[0] for key in mmagic}) == 6
    target = _unet(tiny)
    assert load_motion_modules(target, dict(path=str(checkpoint))) == len(mmagic) - 6  # one position table each
    loaded, converted = target.state_dict(), convert_motion_state(mmagic)
    assert set(converted) == {key for key in loaded if ".motion_modules." in key}  # every motion weight, no other
    for key, value in converted.items():
        assert torch.equal(loaded[key], value), key
    # MMagic's second attention block is diffusers' attn2
    key = "up_blocks.1.motion_modules.1.temporal_transformer.transformer_blocks.0.attention_blocks.1.to_q.weight"
    assert torch.equal(loaded["up_blocks.1.motion_modules.1.transformer_blocks.0.attn2.to_q.weight"], mmagic[key])
    # a checkpoint with a mid-block module (the v2 config) does not fit a UNet without one
    with_mid = write_motion_module(tmp_path / "mm_v2.ckpt", _unet(tiny, motion_module_mid_block=True))
    with pytest.raises(ConfigError, match="unexpected.*mid_block.motion_modules"):
        load_motion_modules(target, dict(path=str(with_mid)))
    with pytest.raises(ConfigError, match="does not exist"):
        load_motion_modules(target, dict(path=str(tmp_path / "missing.ckpt")))


def test_an_original_layout_dreambooth_file_loads_into_vae_unet_and_text_encoder(tiny, tmp_path):
    from diffusers import AutoencoderKL
    from safetensors.torch import load_file
    from transformers import CLIPTextModel

    path = write_dreambooth(tmp_path / "db.safetensors", tiny)
    model = SimpleNamespace(unet=_unet(tiny), vae=AutoencoderKL.from_pretrained(str(tiny / "vae")),
                            text_encoder=CLIPTextModel.from_pretrained(str(tiny / "text_encoder")))
    file = load_file(str(path))
    assert any(k.startswith("cond_stage_model.transformer.text_model.") for k in file)
    assert not torch.equal(ldm_state(model.unet, model.vae, model.text_encoder)["out.2.weight".join(
        ("model.diffusion_model.", ""))], file["model.diffusion_model.out.2.weight"])
    load_dreambooth(model, dict(path=str(path)))
    # every tensor of the file landed where the original layout names it (diffusers' converters decide)
    again = ldm_state(model.unet, model.vae, model.text_encoder)
    assert sorted(again) == sorted(file)
    assert all(torch.equal(again[key], file[key]) for key in file)
    broken = {key: value for key, value in file.items() if "middle_block.1." not in key}
    from safetensors.torch import save_file

    save_file(broken, str(tmp_path / "broken.safetensors"))
    with pytest.raises(ConfigError, match="UNet.*missing.*mid_block.attentions"):
        load_dreambooth(model, dict(path=str(tmp_path / "broken.safetensors")))


def test_the_published_configs_have_mmagics_parameter_counts():
    # Stable Diffusion 1.5's UNet: 859,520,964; a motion module of C channels (MMagic's VanillaTemporalModule,
    # one transformer block): 22·C² + 21·C; 2 per down block, 3 per up block at C = 320, 640, 1280, 1280, and
    # for mm_sd_v15_v2 (RealisticVision_v2) one more in the mid block at 1280
    v2 = dict(MOTION, temporal_position_encoding_max_len=32)
    with torch.device("meta"):
        unet = UNet3DConditionMotionModel(from_config=dict(cross_attention_dim=768, sample_size=64),
                                          **{**UNET, "subfolder": None, "motion_module_kwargs": v2,
                                             "motion_module_mid_block": True})
    total = sum(p.numel() for p in unet.parameters())
    mid = sum(p.numel() for name, p in unet.named_parameters() if name.startswith("mid_block.motion_modules."))
    per_module = sum(22 * c * c + 21 * c for c in (320, 640, 1280, 1280))
    assert total - mid == 859_520_964 + 5 * per_module == 1_276_658_564  # mm_sd_v14 / v15 configs
    assert total == 1_276_658_564 + 22 * 1280 ** 2 + 21 * 1280 == 1_312_730_244  # the v2 config


def test_frame_positions_are_mmagics_sinusoid_in_float64(tiny):
    unet = _unet(tiny)
    table = unet.state_dict()["down_blocks.1.motion_modules.0.transformer_blocks.0.pos_embed.pe"][0].double()
    length, width = table.shape
    assert (length, width) == (24, 64)
    position = torch.arange(length, dtype=torch.float64)[:, None]
    frequency = torch.exp(torch.arange(0, width, 2, dtype=torch.float64) * (-math.log(10000.0) / width))
    expected = torch.zeros(length, width, dtype=torch.float64)
    expected[:, 0::2], expected[:, 1::2] = torch.sin(position * frequency), torch.cos(position * frequency)
    assert torch.allclose(table, expected, atol=2e-5)


def test_settings_diffusers_cannot_compute_are_config_errors(tiny):
    from mgx.plugins.models.animatediff import AnimateDiff

    never_built = dict(type="AutoencoderKL", from_pretrained="runwayml/stable-diffusion-v1-5")  # not downloaded:
    with pytest.raises(ConfigError, match="model.motion_module_cfg.path '/home/AnimateDiff/mm_sd_v14.ckpt' does "
                                          "not exist"):  # the missing file is named before anything loads
        AnimateDiff(never_built, never_built, "x", never_built, never_built,
                    motion_module_cfg=dict(path="/home/AnimateDiff/mm_sd_v14.ckpt"))
    with pytest.raises(ConfigError, match="temporal_position_encoding=False"):
        _unet(tiny, motion_module_kwargs=dict(MOTION, temporal_position_encoding=False))
    with pytest.raises(ConfigError, match="motion_module_resolutions"):
        _unet(tiny, motion_module_resolutions=[1])
    with pytest.raises(ConfigError, match="multiples of 32"):
        UNet3DConditionMotionModel(from_config=dict(block_out_channels=(16, 32), down_block_types=(
            "CrossAttnDownBlock3D", "DownBlock3D"), up_block_types=("UpBlock3D", "CrossAttnUpBlock3D"),
            norm_num_groups=4), use_motion_module=True, motion_module_type="Vanilla", motion_module_kwargs=MOTION)


def test_toonyou_config_samples_a_clip_and_logs_its_frames_and_gif_to_mlflow(tmp_path, monkeypatch, tiny):
    from mlflow import MlflowClient
    from PIL import Image

    from mgx.core.config import load_config, to_plain

    config = CONFIGS / "animatediff" / "animatediff_ToonYou.py"
    options = animatediff_options(to_plain(load_config(config))["model"], tmp_path / "stand_ins")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # the workspace's own store, under tmp_path
    run_ok(["run", "test", str(config), "--work-dir", str(tmp_path / "test"), "--cfg-options", *options,
            "model.val_prompts=['a cat']", "model.val_negative_prompts='blurry'"], tmp_path, monkeypatch)
    folder = tmp_path / "test" / "samples" / "a_cat"
    with Image.open(folder / "iter_0000000.png") as grid:  # one row: the clip's frames (16 px, 2 px padding)
        assert grid.size == (FRAMES * 18 + 2, 20)
    with Image.open(folder / "iter_0000000.gif") as gif:
        assert gif.n_frames == FRAMES and gif.size == (16, 16)
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    (run,) = every_run(client)
    artifacts = [item.path for item in client.list_artifacts(run.info.run_id, "samples/a_cat")]
    assert "samples/a_cat/iter_0000000.gif" in artifacts, artifacts
    assert client.list_artifacts(run.info.run_id, "images"), "the frame grid is an MLflow image"


def test_clip_prompt_grids_are_a_row_of_frames_per_clip_and_a_gif(tmp_path):
    from PIL import Image

    from mgx.core.evaluation.validation import Validator

    class TwoClips(torch.nn.Module):  # a text-to-video model's prompt_grids: N×T×C×H×W in [-1, 1]
        def prompt_grids(self, seed):
            return {"a dog!": torch.linspace(-1, 1, 2 * 3 * 3 * 8 * 8).reshape(2, 3, 3, 8, 8)}

    validator = Validator([], model=TwoClips(), ema=None, device=torch.device("cpu"), amp=False, seed=0,
                          work_dir=tmp_path)
    ((key, path),) = validator.save_prompt_grids(tmp_path / "samples", 5)
    assert (key, path.name) == ("samples/a_dog", "iter_0000005.png")
    with Image.open(path) as grid:
        assert grid.size == (3 * 10 + 2, 2 * 10 + 2)  # 3 frames a row, one row per clip, 2 px padding
    (gif,) = validator.prompt_animations
    with Image.open(gif) as animation:
        assert gif == path.with_suffix(".gif") and animation.n_frames == 3 and animation.size == (8, 8)
