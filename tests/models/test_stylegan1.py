"""StyleGANv1 (MMagic's StyleGAN1): parameter counts and state-dict keys of MMagic's networks, its layers
against float64 definitions, its losses, and MMagic's FFHQ-256 config through the CLI at 16 px."""
from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from mgx.plugins.models.stylegan1.modules import AdaptiveInstanceNorm, Blur, EqualLinearActModule
from mgx.plugins.models.stylegan1.networks import CHANNELS, StyleGAN1Discriminator, StyleGAN1Generator

from gan_zoo_helpers import CONFIGS


def mmagic_parameter_counts(size: int, style: int = 512, mlps: int = 8) -> tuple[int, int]:
    """Counted from MMagic 1.2.0's stylegan1_generator.py / stylegan1_discriminator.py / stylegan1_modules.py."""
    top = int(math.log2(size))
    gen, width = mlps * (style * style + style), CHANNELS[4]
    for i in range(2, top + 1):
        out = CHANNELS[2 ** i]
        gen += 512 * 16 if i == 2 else width * out * 9 + out  # constant input / up-conv
        gen += 2 + 2 * (style * 2 * out + 2 * out) + out * out * 9 + out + out * 3 + 3  # noise, AdaIN ×2, conv2, to_rgb
        width = out
    disc, width = 0, CHANNELS[size]
    for i in range(top, 2, -1):
        narrower = CHANNELS[2 ** (i - 1)]
        disc += 3 * width * 9 + width + width * narrower * 9 + narrower + narrower * narrower * 9 + narrower
        width = narrower
    disc += 3 * 512 * 9 + 512 + 513 * 512 * 9 + 512 + 512 * 512 * 16 + 512 + 512 + 1
    return gen, disc


@pytest.mark.parametrize("size,expected", [(256, (26080739, 25435137))])  # 1024 px: 26214045, 25505793
def test_parameter_counts_are_mmagics(size, expected):
    count = lambda module: sum(p.numel() for p in module.parameters())  # noqa: E731
    assert mmagic_parameter_counts(size) == expected
    assert (count(StyleGAN1Generator(size, 512)), count(StyleGAN1Discriminator(size))) == expected


def test_state_dict_keys_are_mmagics():
    gen, disc = StyleGAN1Generator(8, 4, num_mlps=2), StyleGAN1Discriminator(8)
    adain = lambda p: {f"{p}.affine.weight_orig", f"{p}.affine.bias"}  # noqa: E731
    expected = {"style_mapping.1.linear.weight_orig", "style_mapping.1.bias", "style_mapping.2.linear.weight_orig",
                "style_mapping.2.bias", "convs.0.conv1.input", "convs.1.conv1.0.conv.weight_orig",
                "convs.1.conv1.0.conv.bias", "convs.1.conv1.1.kernel", *(f"injected_noise_{i}" for i in range(4))}
    for i in (0, 1):
        expected |= {f"convs.{i}.noise_injector1.weight", f"convs.{i}.noise_injector2.weight",
                     f"convs.{i}.conv2.conv.weight_orig", f"convs.{i}.conv2.conv.bias", f"to_rgbs.{i}.conv.weight_orig",
                     f"to_rgbs.{i}.conv.bias", *adain(f"convs.{i}.adain1"), *adain(f"convs.{i}.adain2")}
    assert set(gen.state_dict()) == expected
    assert set(disc.state_dict()) == {
        "convs.0.0.conv.weight_orig", "convs.0.0.conv.bias", "convs.0.1.kernel", "convs.0.2.conv.weight_orig",
        "convs.0.2.conv.bias", "convs.1.0.conv.weight_orig", "convs.1.0.conv.bias", "convs.1.1.conv.weight_orig",
        "convs.1.1.conv.bias", "from_rgb.0.conv.weight_orig", "from_rgb.0.conv.bias", "from_rgb.1.conv.weight_orig",
        "from_rgb.1.conv.bias", "final_linear.0.linear.weight_orig", "final_linear.0.bias"}
    assert [tuple(gen.state_dict()[f"injected_noise_{i}"].shape[2:]) for i in range(4)] == [(4, 4), (4, 4), (8, 8), (8, 8)]


def test_layers_match_float64_definitions():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 5, 5, dtype=torch.float64)
    blurred = Blur((1, 2, 1)).double()(x)
    kernel = torch.tensor([1.0, 2.0, 1.0], dtype=torch.float64)
    kernel = (kernel[:, None] * kernel[None, :] / 16).expand(3, 1, 3, 3)
    torch.testing.assert_close(blurred, F.conv2d(F.pad(x, (1, 1, 1, 1)), kernel, groups=3), rtol=1e-12, atol=1e-12)
    adain = AdaptiveInstanceNorm(3, 4).double()
    style = torch.randn(2, 4, dtype=torch.float64)
    affine = style @ (adain.affine.weight_orig * math.sqrt(2) / 2).T + adain.affine.bias
    mean, var = x.mean(dim=(2, 3), keepdim=True), x.var(dim=(2, 3), keepdim=True, unbiased=False)
    expected = affine[:, :3, None, None] * (x - mean) / torch.sqrt(var + 1e-5) + affine[:, 3:, None, None]
    torch.testing.assert_close(adain(x, style), expected, rtol=1e-10, atol=1e-10)
    assert adain.affine.bias[:3].tolist() == [1.0] * 3 and adain.affine.bias[3:].tolist() == [0.0] * 3
    linear = EqualLinearActModule(4, 3, lr_mul=0.01, bias_init=2.0).double()
    expected = style @ (linear.linear.weight_orig * 0.01 / 2).T + 2.0 * 0.01
    torch.testing.assert_close(linear(style), expected, rtol=1e-12, atol=1e-12)


def test_fade_in_and_style_mixing_follow_mmagic():
    torch.manual_seed(1)
    gen = StyleGAN1Generator(8, 4, num_mlps=1).eval()
    z = torch.randn(2, 4)
    fixed = dict(randomize_noise=False)
    latent = gen(z, return_latents=True, **fixed)["latent"]
    assert latent.shape == (2, 4, 4) and torch.equal(latent[:, 0], latent[:, 3])
    new, skip = gen(z, curr_scale=8, **fixed), gen(z, curr_scale=4, **fixed)
    blended = gen(z, curr_scale=8, transition_weight=0.25, **fixed)
    torch.testing.assert_close(blended, 0.75 * F.interpolate(skip, scale_factor=2) + 0.25 * new)
    mixed = gen([z, torch.randn(2, 4)], inject_index=2, return_latents=True, **fixed)["latent"]
    assert torch.equal(mixed[:, 1], latent[:, 1]) and not torch.equal(mixed[:, 2], latent[:, 2])


def test_mmagic_config_builds_and_trains():
    """MMagic's FFHQ-256 config (model, optimizers with PGGANOptimWrapperConstructor) at 8 px: a training
    step and samples. Not through the CLI here: MMagic's widths are fixed (512 channels up to 32 px), so a
    step takes seconds on CPU and each checkpoint is ~350 MB; benchmarks/zoo_trials.py runs the CLI (2
    iterations + test) on both configs; tests/models/test_pggan.py runs the shared machinery through the CLI."""
    from mgx.cli.context import plugin_manager
    from mgx.core.config import load_config, to_plain
    from mgx.core.engine.optim import build_optim_wrappers
    from mgx.core.registry import build

    plugin_manager()  # activates the registry
    cfg = to_plain(load_config(str(CONFIGS / "styleganv1" / "styleganv1_ffhq-256x256_8xb4-25Mimgs.py"), [
        "model.generator.out_size=8", "model.discriminator.in_size=8", "model.style_channels=8",
        "model.generator.style_channels=8", "model.nkimgs_per_scale={'8':1}"]))
    torch.manual_seed(0)
    model = build(cfg["model"], "model")
    assert type(model).__name__ == "StyleGAN1" and model.generator_ema.momentum == pytest.approx(1 - 0.5 ** (32 / 10000))
    optim = build_optim_wrappers(cfg["optim_wrapper"], model, device=torch.device("cpu"), amp=False)
    batch = {"inputs": torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)}
    logs = [model.train_step(dict(batch), optim)]
    assert set(logs[0]) >= {"loss_disc_fake", "loss_disc_real", "loss_r1_gp", "loss_gen"}
    assert all(math.isfinite(float(value)) for log in logs for value in log.values())
    assert float(model.shown_nkimg) == pytest.approx(0.002) and int(model._curr_scale_int) == 8
    assert int(model.generator_ema.steps) == 1
    images = model.eval().sample(3)
    assert images.shape == (3, 3, 8, 8) and images.abs().max() <= 1
