"""Real-ESRGAN: UNetDiscriminatorWithSpectralNorm's parameter count and keys equal MMagic 1.2.0's; the
ExponentialMovingAverageHook's update against a float64 statement of it; RealESRGAN's sharpened ground
truths and EMA inference; MMagic's Real-ESRGAN config (copied unchanged into tests/mmagic/configs/real_esrgan/)
trains 2 iterations and is tested through the CLI at tiny width on folders in its layout."""
from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from mgx.benchmarks.zoo_data import Sizes, write_config_data
from mgx.benchmarks.zoo_data.stand_ins import write_random_vgg
from mgx.core.config import load_config
from mgx.core.engine.checkpoint import load_model_weights, weights_of
from mgx.core.errors import ConfigError
from mgx.core.registry import build
from mgx.plugins.models.base_models.ema_hook import ExponentialMovingAverageHook
from mgx.plugins.models.real_esrgan.unet_disc import UNetDiscriminatorWithSpectralNorm
from mgx_subprocess import run_mgx

CONFIGS = Path(__file__).resolve().parents[1] / "mmagic" / "configs" / "real_esrgan"
TINY_RRDB = dict(type="RRDBNet", in_channels=3, out_channels=3, mid_channels=4, num_blocks=1, growth_channels=4,
                 upscale_factor=4)


def test_discriminator_parameter_count_and_keys_are_mmagic_ones():
    # sum(p.numel()) of MMagic's UNetDiscriminatorWithSpectralNorm(3, 64, True), the published configs' one
    assert sum(p.numel() for p in UNetDiscriminatorWithSpectralNorm(3, 64).parameters()) == 4376897
    shapes = {k: tuple(v.shape) for k, v in UNetDiscriminatorWithSpectralNorm(3, 4).state_dict().items()}
    expected = {"conv_0.weight": (4, 3, 3, 3), "conv_0.bias": (4,), "conv_9.weight": (1, 4, 3, 3), "conv_9.bias": (1,)}
    # torch's spectral_norm: weight_orig, the left (u, out) and right (v, in·k·k) singular-vector estimates
    for index, (out, inp, k) in enumerate([(8, 4, 4), (16, 8, 4), (32, 16, 4), (16, 32, 3), (8, 16, 3), (4, 8, 3),
                                           (4, 4, 3), (4, 4, 3)], start=1):
        expected |= {f"conv_{index}.weight_orig": (out, inp, k, k), f"conv_{index}.weight_u": (out,),
                     f"conv_{index}.weight_v": (inp * k * k,)}
    assert shapes == expected


def test_discriminator_maps_every_pixel_and_uses_its_skips():
    torch.manual_seed(0)
    with_skips = UNetDiscriminatorWithSpectralNorm(3, 4).eval()
    without = UNetDiscriminatorWithSpectralNorm(3, 4, skip_connection=False).eval()
    without.load_state_dict(with_skips.state_dict())
    x = torch.rand(2, 3, 32, 24)
    with torch.no_grad():
        assert with_skips(x).shape == (2, 1, 32, 24)
        assert not torch.allclose(with_skips(x), without(x))


class _Pair(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.generator = torch.nn.BatchNorm2d(3)  # a parameter and buffers (running stats, an int counter)
        self.generator_ema = torch.nn.BatchNorm2d(3)


def test_ema_hook_update_matches_float64_definition():
    model = _Pair()
    with torch.no_grad():
        model.generator.weight.uniform_(0, 2)
        model.generator.running_mean.uniform_(-1, 1)
        model.generator.num_batches_tracked.fill_(7)
    ema_before = {k: v.double().clone() for k, v in model.generator_ema.state_dict().items()}
    hook = ExponentialMovingAverageHook("generator_ema", interval=2, interp_cfg=dict(momentum=0.25))
    hook.update(model, iteration=0)  # (0 + 1) % 2 != 0: not due
    torch.testing.assert_close(model.generator_ema.weight.double(), ema_before["weight"])
    hook.update(model, iteration=1)
    current = {k: v.double() for k, v in model.generator.state_dict().items()}
    ema = model.generator_ema.state_dict()
    np.testing.assert_allclose(ema["weight"].double().numpy(),
                               (ema_before["weight"] + (current["weight"] - ema_before["weight"]) * 0.25).numpy(),
                               rtol=1e-6)
    np.testing.assert_allclose(ema["running_mean"].double().numpy(), current["running_mean"].numpy(), rtol=1e-6)
    assert int(ema["num_batches_tracked"]) == 7  # buffers: momentum_nontrainable = 1, a copy


def test_ema_hook_copies_before_start_iter_and_checks_its_arguments():
    model = _Pair()
    with torch.no_grad():
        model.generator.weight.uniform_(0, 2)
    ExponentialMovingAverageHook(("generator_ema",), interval=1, start_iter=5).update(model, iteration=3)
    torch.testing.assert_close(model.generator_ema.weight, model.generator.weight.detach())
    for bad in (dict(module_keys="generator"), dict(module_keys="g_ema", interp_mode="slerp"),
                dict(module_keys="g_ema", interp_cfg=dict(momentum=1.5))):
        with pytest.raises(ConfigError, match="ExponentialMovingAverageHook"):
            ExponentialMovingAverageHook(**bad)
    run = SimpleNamespace(model=torch.nn.Module())
    with pytest.raises(ConfigError, match="neither 'generator_ema' nor 'generator'"):
        ExponentialMovingAverageHook("generator_ema").mgx_before_run(run=run)


def _model(**kwargs):
    return build(dict(type="RealESRGAN", generator=TINY_RRDB, pixel_loss=dict(type="L1Loss"),
                      data_preprocessor=dict(type="DataPreprocessor", mean=[0.0] * 3, std=[255.0] * 3), **kwargs),
                 "model")


def test_sharpened_ground_truth_goes_to_the_chosen_losses_only():
    model = _model(is_use_sharpened_gt_in_pixel=True, is_use_sharpened_gt_in_gan=True)
    gt = torch.full((1, 3, 8, 8), 0.5)
    batch = {"gt_unsharp": torch.full((1, 3, 8, 8), 204.0)}
    pixel, percep, gan = model.loss_targets(batch, gt, "test", torch.device("cpu"))
    assert float(pixel.mean()) == pytest.approx(0.8) and float(gan.mean()) == pytest.approx(0.8)
    assert percep is gt
    with pytest.raises(ConfigError, match="UnsharpMasking"):
        model.loss_targets({}, gt, "test", torch.device("cpu"))


def test_mmagic_checkpoint_loads_through_load_from():
    """MMagic's RealESRGAN state dict: generator, generator_ema, the spectral-norm discriminator (weight_orig/u/v),
    the perceptual loss's frozen VGG, no step counter."""
    model = _model(discriminator=dict(type="UNetDiscriminatorWithSpectralNorm", in_channels=3, mid_channels=4),
                   gan_loss=dict(type="GANLoss", gan_type="vanilla"))
    rng = torch.Generator().manual_seed(0)
    state = {k: torch.randn(v.shape, generator=rng) if v.is_floating_point() else v
             for k, v in model.state_dict().items() if k != "step_counter"}
    state["perceptual_loss.vgg.vgg_layers.0.weight"] = torch.zeros(64, 3, 3, 3)
    state["perceptual_loss.vgg.mean"] = torch.zeros(1, 3, 1, 1)
    load_model_weights(model, weights_of({"meta": {}, "state_dict": state}), "realesrgan-mmagic.pth")
    torch.testing.assert_close(model.discriminator.conv_3.weight_orig, state["discriminator.conv_3.weight_orig"])
    torch.testing.assert_close(model.generator_ema.conv_first.weight, state["generator_ema.conv_first.weight"])


def test_evaluation_runs_the_ema_generator():
    model = _model().eval()
    with torch.no_grad():
        for parameter in model.generator_ema.parameters():
            parameter.zero_()
    out = model(torch.full((1, 3, 4, 4), 100.0))
    assert torch.count_nonzero(out) == 0  # the zeroed EMA copy made it, not the trained generator
    plain = _model(is_use_ema=False)
    assert plain.generator_ema is None and plain.inference_generator() is plain.generator


def test_mmagic_real_esrgan_config_trains_and_tests(tmp_path):
    config = CONFIGS / "realesrgan_c64b23g32_4xb12-lr1e-4-400k_df2k-ost.py"
    write_config_data(load_config(config), tmp_path, Sizes(crop=32, image=32, count=1, scale=4))
    vgg_file = write_random_vgg(tmp_path / "vgg19-random.pth", "vgg19")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MGX_OFFLINE": "1", "MGX_VGG19_TORCHVISION_PATH": str(vgg_file)}
    tiny = ["model.generator.mid_channels=4", "model.generator.num_blocks=1", "model.generator.growth_channels=4",
            "model.discriminator.mid_channels=4"]
    sizes = ["train_dataloader.batch_size=2", "train_dataloader.dataset.pipeline.2.crop_size=(32,32)",
             "train_dataloader.dataset.pipeline.12.degradations.1.0.params.target_size=(8,8)",
             "train_dataloader.dataset.pipeline.16.gt_patch_size=32"]
    # the EMA hook's start_iter past the run: its copies make generator_ema equal the trained generator,
    # which shows the hook ran (its averaging itself is checked above)
    trained = run_mgx("run", "train", str(config), "--work-dir", str(tmp_path / "work"), "--no-track", "--cfg-options",
                      *tiny, *sizes, "train_cfg.max_iters=2", "train_cfg.val_interval=2",
                      "custom_hooks.1.start_iter=10", cwd=tmp_path, env=env)
    assert trained.returncode == 0, trained.stderr[-4000:]
    assert "loss_gan" in trained.stderr and "loss_perceptual" in trained.stderr
    checkpoint = tmp_path / "work" / "iter_2.pth"
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)["model"]
    ema_keys = [k for k in state if k.startswith("generator_ema.")]
    assert ema_keys and all(torch.equal(state[k], state["generator." + k[len("generator_ema."):]]) for k in ema_keys)
    tested = run_mgx("run", "test", str(config), str(checkpoint), "--work-dir", str(tmp_path / "test"), "--no-track",
                     "--cfg-options", *tiny, cwd=tmp_path, env=env)
    assert tested.returncode == 0, tested.stderr[-4000:]
    metrics = json.loads((tmp_path / "test" / "test_results.json").read_text())["metrics"]
    assert np.isfinite(metrics["PSNR"]) and -1 <= metrics["SSIM"] <= 1, metrics
