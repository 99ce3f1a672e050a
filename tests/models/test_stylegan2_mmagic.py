"""MMagic 1.2.0 StyleGAN2 checkpoints load into mgx's StyleGAN2 (load_from), by the documented key mapping.

The MMagic state dict is written here from MMagic's definitions (StyleGANv2Generator,
ModulatedStyleConv/ModulatedToRGB, EqualLinearActModule, EqualizedLR's ``*_orig``
weights, ConvDownLayer as nn.Sequential, StyleGAN2Discriminator, the EMA wrapper),
independently of mgx's modules.
"""
import math

import torch

from mgx.core.engine.checkpoint import load_model_weights, weights_of
from mgx.plugins.models.stylegan2 import StyleGAN2

SIZE, STYLE, MLPS = 8, 16, 2
C = 512  # MMagic: 512 channels at every resolution up to 32


def mmagic_generator_shapes(size=SIZE, style=STYLE, mlps=MLPS):
    shapes = {}
    for i in range(1, mlps + 1):  # style_mapping.0 is PixelNorm
        shapes[f"style_mapping.{i}.linear.weight_orig"] = (style, style)
        shapes[f"style_mapping.{i}.bias"] = (style,)
    shapes["constant_input.input"] = (1, C, 4, 4)

    def style_conv(prefix, cin, cout, up):
        shapes[f"{prefix}.conv.weight_orig"] = (1, cout, cin, 3, 3)
        shapes[f"{prefix}.conv.style_modulation.linear.weight_orig"] = (cin, style)
        shapes[f"{prefix}.conv.style_modulation.bias"] = (cin,)
        if up:
            shapes[f"{prefix}.conv.blur.kernel"] = (4, 4)
        shapes[f"{prefix}.noise_injector.weight"] = (1,)
        shapes[f"{prefix}.activate.bias"] = (cout,)

    def to_rgb(prefix, cin, up):
        if up:
            shapes[f"{prefix}.upsample.kernel"] = (4, 4)
        shapes[f"{prefix}.conv.weight_orig"] = (1, 3, cin, 1, 1)
        shapes[f"{prefix}.conv.style_modulation.linear.weight_orig"] = (cin, style)
        shapes[f"{prefix}.conv.style_modulation.bias"] = (cin,)
        shapes[f"{prefix}.bias"] = (1, 3, 1, 1)

    style_conv("conv1", C, C, False)
    to_rgb("to_rgb1", C, False)
    log_size = int(math.log2(size))
    for j, _ in enumerate(range(3, log_size + 1)):
        style_conv(f"convs.{2 * j}", C, C, True)
        style_conv(f"convs.{2 * j + 1}", C, C, False)
        to_rgb(f"to_rgbs.{j}", C, True)
    for k in range(log_size * 2 - 3):
        res = 2 ** ((k + 5) // 2)
        shapes[f"injected_noise_{k}"] = (1, 1, res, res)
    return shapes


def mmagic_discriminator_shapes(size=SIZE):
    shapes = {"convs.0.0.conv.weight_orig": (C, 3, 1, 1), "convs.0.1.bias": (C,)}
    for j, _ in enumerate(range(int(math.log2(size)), 2, -1), start=1):
        shapes[f"convs.{j}.conv1.0.conv.weight_orig"] = (C, C, 3, 3)
        shapes[f"convs.{j}.conv1.1.bias"] = (C,)
        shapes[f"convs.{j}.conv2.0.kernel"] = (4, 4)
        shapes[f"convs.{j}.conv2.1.conv.weight_orig"] = (C, C, 3, 3)
        shapes[f"convs.{j}.conv2.2.bias"] = (C,)
        shapes[f"convs.{j}.skip.0.kernel"] = (4, 4)
        shapes[f"convs.{j}.skip.1.conv.weight_orig"] = (C, C, 1, 1)
    shapes["final_conv.0.conv.weight_orig"] = (C, C + 1, 3, 3)
    shapes["final_conv.1.bias"] = (C,)
    shapes["final_linear.0.linear.weight_orig"] = (C, C * 16)
    shapes["final_linear.0.bias"] = (C,)
    shapes["final_linear.1.linear.weight_orig"] = (1, C)
    shapes["final_linear.1.bias"] = (1,)
    return shapes


def mmagic_state(ema_prefix="generator_ema.module."):
    gen = torch.Generator().manual_seed(0)
    state = {}
    for key, shape in mmagic_generator_shapes().items():
        state["generator." + key] = torch.randn(shape, generator=gen)
        state[ema_prefix + key] = torch.randn(shape, generator=gen)
    for key, shape in mmagic_discriminator_shapes().items():
        state["discriminator." + key] = torch.randn(shape, generator=gen)
    state["generator_ema.steps"] = torch.tensor(1234)
    state["mean_path_length"] = torch.tensor(0.75)
    return {"meta": {"iter": 800000}, "state_dict": state}


def model():
    return StyleGAN2(generator=dict(type="StyleGANv2Generator", out_size=SIZE, style_channels=STYLE, num_mlps=MLPS),
                     discriminator=dict(type="StyleGAN2Discriminator", in_size=SIZE),
                     ema_config=dict(type="ExponentialMovingAverage", momentum=0.001))


def test_mmagic_state_dict_loads_by_the_documented_mapping():
    checkpoint = mmagic_state()
    source = checkpoint["state_dict"]
    net = model()
    load_model_weights(net, weights_of(checkpoint), "mmagic.pth")
    g, d = net.generator, net.discriminator
    assert torch.equal(g.style_mapping[1].weight, source["generator.style_mapping.1.linear.weight_orig"])
    assert torch.equal(g.convs[1].conv.weight, source["generator.convs.1.conv.weight_orig"])
    assert torch.equal(g.convs[0].conv.style_modulation.weight,
                       source["generator.convs.0.conv.style_modulation.linear.weight_orig"])
    assert torch.equal(g.to_rgbs[0].bias, source["generator.to_rgbs.0.bias"])
    assert torch.equal(g.injected_noise_2, source["generator.injected_noise_2"])
    assert torch.equal(net.generator_ema.module.conv1.activate.bias, source["generator_ema.module.conv1.activate.bias"])
    assert int(net.generator_ema.steps) == 1234 and float(net.mean_path_length) == 0.75
    assert torch.equal(d.convs[0].weight, source["discriminator.convs.0.0.conv.weight_orig"])
    assert torch.equal(d.convs[1].conv2.weight, source["discriminator.convs.1.conv2.1.conv.weight_orig"])
    assert torch.equal(d.convs[1].conv2.bias, source["discriminator.convs.1.conv2.2.bias"])
    assert torch.equal(d.convs[1].skip.weight, source["discriminator.convs.1.skip.1.conv.weight_orig"])
    assert torch.equal(d.final_conv.bias, source["discriminator.final_conv.1.bias"])
    assert torch.equal(d.final_linear[0].weight, source["discriminator.final_linear.0.linear.weight_orig"])
    assert int(net.train_iter) == 0
    images = net.sample(2)
    assert images.shape == (2, 3, SIZE, SIZE) and torch.isfinite(images).all()


def test_mmgen_era_ema_keys_without_module_prefix():
    checkpoint = mmagic_state(ema_prefix="generator_ema.")
    del checkpoint["state_dict"]["generator_ema.steps"]
    net = model()
    load_model_weights(net, weights_of(checkpoint), "mmgen.pth")
    assert torch.equal(net.generator_ema.module.constant_input.input,
                       checkpoint["state_dict"]["generator_ema.constant_input.input"])
    assert int(net.generator_ema.steps) == 0


def test_load_from_an_mmagic_checkpoint_file(tmp_path):
    from mgx.core.engine.checkpoint import load_checkpoint

    path = tmp_path / "stylegan2_mmagic.pth"
    torch.save(mmagic_state(), path)
    net = model()
    load_model_weights(net, weights_of(load_checkpoint(path)), str(path))
    assert torch.equal(net.generator.constant_input.input,
                       torch.load(path, weights_only=True)["state_dict"]["generator.constant_input.input"])
