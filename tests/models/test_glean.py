"""GLEAN: GLEANStyleGANv2's parameter count equals MMagic 1.2.0's for the published sizes (counted here from
MMagic's layer definitions), its own layers carry MMagic's names, a StyleGAN2 checkpoint in MMagic's layout
loads into its latent bank (and the discriminator) through init_cfg, the bank stays frozen; MMagic's GLEAN
×8 cat config (copied unchanged into tests/mmagic/configs/glean/) trains 2 iterations and is tested through
the CLI at tiny width on folders in its layout."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from mgx.benchmarks.zoo_data import Sizes, write_config_data
from mgx.benchmarks.zoo_data.stand_ins import write_random_vgg
from mgx.core.config import load_config
from mgx.core.engine.checkpoint import load_model_weights, weights_of
from mgx.core.registry import build
from mgx.plugins.models.glean.glean_styleganv2 import GLEANStyleGANv2
from mgx_subprocess import run_mgx
from test_stylegan2_mmagic import mmagic_discriminator_shapes, mmagic_generator_shapes

CONFIGS = Path(__file__).resolve().parents[1] / "mmagic" / "configs" / "glean"


def _conv(cin: int, cout: int, k: int = 3) -> int:
    return cin * cout * k * k + cout


def mmagic_glean_parameters(in_size: int, out_size: int, style: int = 512, mlps: int = 8, rrdb: int = 64,
                            blocks: int = 23, growth: int = 32) -> int:
    """sum(p.numel()) of MMagic's GLEANStyleGANv2, layer by layer from its definitions (channel_multiplier 2)."""
    ch = {2 ** r: min(512, 2 * 16384 // 2 ** r) for r in range(2, int(math.log2(out_size)) + 1)}
    styleconv = lambda cin, cout: cout * cin * 9 + cin * style + cin + 1 + cout  # noqa: E731 (conv, mod, noise, bias)
    to_rgb = lambda cin: 3 * cin + cin * style + cin + 3  # noqa: E731
    total = mlps * (style * style + style) + ch[4] * 16 + styleconv(ch[4], ch[4]) + to_rgb(ch[4])
    for r in range(3, int(math.log2(out_size)) + 1):
        total += styleconv(ch[2 ** (r - 1)], ch[2 ** r]) + styleconv(ch[2 ** r], ch[2 ** r]) + to_rgb(ch[2 ** r])
    dense = sum(_conv(rrdb + i * growth, growth) for i in range(4)) + _conv(rrdb + 4 * growth, rrdb)
    total += _conv(3, rrdb) + blocks * 3 * dense + _conv(rrdb, rrdb) + _conv(rrdb, ch[in_size])
    num_styles = int(math.log2(out_size)) * 2 - 2
    for res in (2 ** i for i in range(int(math.log2(in_size)), 1, -1)):
        total += (_conv(ch[res], ch[res // 2]) + _conv(ch[res // 2], ch[res // 2]) if res > 4 else
                  _conv(ch[4], ch[4]) + 16 * ch[4] * num_styles * style + num_styles * style)
        total += _conv(2 * ch[res], ch[res]) + _conv(ch[res] + 3, 3)  # fusion_out, fusion_skip
    for res in (2 ** i for i in range(int(math.log2(in_size)), int(math.log2(out_size)) + 1)):
        width = ch[res] if res == in_size else 2 * ch[res]
        total += _conv(width, ch[res * 2] * 4) if res < out_size else _conv(width, 64) + _conv(64, 3)
    return total


@pytest.mark.parametrize("sizes", [(32, 256), (16, 256), (64, 1024), (128, 1024)])  # the 7 configs' 4 shapes
def test_parameter_count_equals_mmagic_published_configs(sizes):
    with torch.device("meta"):  # shapes only: 160–175 M parameters need no memory
        net = GLEANStyleGANv2(*sizes)
    assert sum(p.numel() for p in net.parameters()) == mmagic_glean_parameters(*sizes)


def test_own_layers_carry_mmagic_names():
    net = GLEANStyleGANv2(8, 32, style_channels=8, num_mlps=2, rrdb_channels=4, num_rrdbs=1, channel_max=8)
    own = {k for k in net.state_dict() if not k.startswith("generator.")}
    assert {"encoder.0.0.conv_first.weight", "encoder.0.0.body.0.rdb1.conv1.weight", "encoder.0.0.conv_body.bias",
            "encoder.0.1.weight", "encoder.1.0.weight", "encoder.1.2.weight", "encoder.2.0.weight",
            "encoder.2.3.weight", "encoder.2.3.bias", "fusion_out.0.weight", "fusion_out.1.bias",
            "fusion_skip.1.weight", "decoder.0.upsample_conv.weight", "decoder.1.upsample_conv.bias",
            "decoder.2.0.weight", "decoder.2.2.bias"} <= own
    assert not any(k.split(".")[0] not in {"encoder", "fusion_out", "fusion_skip", "decoder"} for k in own)
    assert net(torch.rand(1, 3, 8, 8)).shape == (1, 3, 32, 32)
    assert not any(p.requires_grad for p in net.generator.parameters())


def _tiny_srgan(**generator_extra):
    return build(dict(type="SRGAN", generator=dict(
        type="GLEANStyleGANv2", in_size=4, out_size=8, style_channels=16, num_mlps=2, rrdb_channels=4, num_rrdbs=1,
        **generator_extra), discriminator=dict(type="StyleGANv2Discriminator", in_size=8),
        gan_loss=dict(type="GANLoss", gan_type="vanilla"), pixel_loss=dict(type="MSELoss")), "model")


def test_mmagic_glean_checkpoint_loads_through_load_from():
    """An MMagic GLEAN checkpoint: the bank and discriminator in MMagic's StyleGAN2 layout, the rest by GLEAN's
    names, the frozen VGG of the perceptual loss saved too, no step counter."""
    rng = torch.Generator().manual_seed(1)
    model = _tiny_srgan()
    own = {k: torch.randn(v.shape, generator=rng) for k, v in model.generator.state_dict().items()
           if not k.startswith("generator.")}
    state = {f"generator.{k}": v for k, v in own.items()}
    state |= {f"generator.generator.{k}": torch.randn(s, generator=rng)
              for k, s in mmagic_generator_shapes(8, 16, 2).items()}
    state |= {f"discriminator.{k}": torch.randn(s, generator=rng) for k, s in mmagic_discriminator_shapes(8).items()}
    state["perceptual_loss.vgg.vgg_layers.0.weight"] = torch.zeros(64, 3, 3, 3)
    load_model_weights(model, weights_of({"meta": {}, "state_dict": state}), "glean-mmagic.pth")
    torch.testing.assert_close(model.generator.encoder[1][0].weight, state["generator.encoder.1.0.weight"])
    torch.testing.assert_close(model.generator.generator.to_rgbs[0].conv.weight,
                               state["generator.generator.to_rgbs.0.conv.weight_orig"])
    torch.testing.assert_close(model.discriminator.convs[1].conv1.weight,
                               state["discriminator.convs.1.conv1.0.conv.weight_orig"])
    assert int(model.step_counter) == 0


def test_mmagic_stylegan2_checkpoint_loads_into_the_latent_bank_and_discriminator(tmp_path):
    generator_shapes, disc_shapes = mmagic_generator_shapes(8, 16, 2), mmagic_discriminator_shapes(8)
    rng = torch.Generator().manual_seed(0)
    state = {f"generator_ema.{k}": torch.randn(s, generator=rng) for k, s in generator_shapes.items()}
    state |= {f"discriminator.{k}": torch.randn(s, generator=rng) for k, s in disc_shapes.items()}
    checkpoint = tmp_path / "stylegan2-mmagic.pth"
    torch.save({"meta": {}, "state_dict": state}, checkpoint)
    model = build(dict(type="SRGAN", generator=dict(
        type="GLEANStyleGANv2", in_size=4, out_size=8, style_channels=16, num_mlps=2, rrdb_channels=4, num_rrdbs=1,
        init_cfg=dict(type="Pretrained", checkpoint=str(checkpoint), prefix="generator_ema")),
        discriminator=dict(type="StyleGANv2Discriminator", in_size=8,
                           init_cfg=dict(type="Pretrained", checkpoint=str(checkpoint), prefix="discriminator")),
        gan_loss=dict(type="GANLoss", gan_type="vanilla"), pixel_loss=dict(type="MSELoss")), "model")
    bank = model.generator.generator
    torch.testing.assert_close(bank.style_mapping[1].weight, state["generator_ema.style_mapping.1.linear.weight_orig"])
    torch.testing.assert_close(bank.convs[0].conv.weight, state["generator_ema.convs.0.conv.weight_orig"])
    torch.testing.assert_close(bank.injected_noise_2, state["generator_ema.injected_noise_2"])
    torch.testing.assert_close(model.discriminator.final_conv.weight,
                               state["discriminator.final_conv.0.conv.weight_orig"])


def test_mmagic_glean_config_trains_and_tests(tmp_path):
    from mgx.plugins.models.stylegan2 import StyleGAN2Discriminator, StyleGANv2Generator

    config = CONFIGS / "glean_x8_2xb8_cat.py"
    write_config_data(load_config(config), tmp_path, Sizes(crop=32, image=32, count=1, scale=4))
    vgg_file = write_random_vgg(tmp_path / "vgg16-random.pth", "vgg16")
    bank, disc = StyleGANv2Generator(32, 8, channel_max=8), StyleGAN2Discriminator(32, channel_max=8)
    stylegan = tmp_path / "stylegan2-tiny.pth"  # the pretrained StyleGAN2 both init_cfg entries name
    torch.save({"state_dict": {**{f"generator_ema.{k}": v for k, v in bank.state_dict().items()},
                               **{f"discriminator.{k}": v for k, v in disc.state_dict().items()}}}, stylegan)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MGX_OFFLINE": "1", "MGX_VGG16_TORCHVISION_PATH": str(vgg_file)}
    metrics = "dict(type='Evaluator',metrics=[dict(type='MAE'),dict(type='PSNR'),dict(type='SSIM')])"
    common = ["--no-track", "--cfg-options", "model.generator.in_size=8", "model.generator.out_size=32",
              "model.generator.style_channels=8", "model.generator.channel_max=8", "model.generator.rrdb_channels=4",
              "model.generator.num_rrdbs=1", "model.discriminator.in_size=32", "model.discriminator.channel_max=8",
              f"model.generator.init_cfg.checkpoint={stylegan}", f"model.discriminator.init_cfg.checkpoint={stylegan}",
              f"val_evaluator={metrics}", f"test_evaluator={metrics}"]  # one evaluator: until mgx reads the list
    trained = run_mgx("run", "train", str(config), "--work-dir", str(tmp_path / "work"), *common,
                      "train_cfg.max_iters=2", "train_cfg.val_interval=2", "train_dataloader.batch_size=2",
                      cwd=tmp_path, env=env)
    assert trained.returncode == 0, trained.stderr[-4000:]
    assert "loss_gan" in trained.stderr and "best MAE" in trained.stderr
    checkpoint = tmp_path / "work" / "iter_2.pth"
    weights = torch.load(checkpoint, map_location="cpu", weights_only=True)["model"]
    for key, value in bank.state_dict().items():  # the latent bank is frozen: still the pretrained weights
        torch.testing.assert_close(weights[f"generator.generator.{key}"], value)
    tested = run_mgx("run", "test", str(config), str(checkpoint), "--work-dir", str(tmp_path / "test"), *common,
                     cwd=tmp_path, env=env)
    assert tested.returncode == 0, tested.stderr[-4000:]
    results = json.loads((tmp_path / "test" / "test_results.json").read_text())["metrics"]
    assert np.isfinite(results["PSNR"]) and -1 <= results["SSIM"] <= 1 and results["MAE"] >= 0, results
