"""MSPIE-StyleGAN2 (MMagic 1.2.0's positional_encoding_in_gans MSPIE configs): parameter counts of the published
config, MMagic's checkpoint keys, multi-scale sizes (head, injected noises, interp_pad/no_pad), the scale schedule,
and one multi-scale training step."""
from __future__ import annotations

import copy

import pytest
import torch

from mgx.core.engine.checkpoint import load_model_weights
from mgx.core.engine.optim import build_optim_wrappers
from mgx.plugins.models.mspie import MSPIEStyleGAN2, MSStyleGAN2Discriminator, MSStyleGANv2Generator
from test_stylegan2_mmagic import C, mmagic_discriminator_shapes, mmagic_generator_shapes

SPE = dict(type="SPE", embedding_dim=256, padding_idx=0, init_size=256, center_shift=100)
# config-f: SPE head, interpolation instead of transposed convs, upsampling after the conv
CONFIG_F = dict(head_pos_encoding=SPE, deconv2conv=True, up_after_conv=True,
                up_config=dict(scale_factor=2, mode="bilinear", align_corners=True))
# config-k: SPE head of 6×6, no conv padding, 4 extra pixels per upsampling, upsampling before the conv
CONFIG_K = dict(head_pos_encoding=SPE, deconv2conv=True, up_after_conv=False, interp_pad=4, no_pad=True,
                head_pos_size=(6, 6), up_config=dict(scale_factor=2, mode="bilinear", align_corners=True))


def _count(module):
    return sum(p.numel() for p in module.parameters())


def test_parameter_counts_equal_mmagics_published_config():
    # mspie-stylegan2-config-f_c2_8xb3-1100kiters_ffhq-256-512.py, counted from MMagic's modules: 8 mapping
    # layers 512², per style conv O·I·9 + a 512→I modulation + noise weight + bias, per to-RGB 3·I + modulation
    # + 3; conv1 reads the 512-channel SPE grid (2 × embedding_dim). Discriminator: StyleGAN2's with the
    # first linear reading the 2×2 adaptive pool (512·4 inputs instead of 512·16).
    assert _count(MSStyleGANv2Generator(256, 512, **CONFIG_F)) == 30_026_146
    assert _count(MSStyleGAN2Discriminator(256, with_adaptive_pool=True)) == 25_718_401


def test_mmagic_checkpoint_loads_by_key():
    style = 16
    net = MSPIEStyleGAN2(generator=dict(type="MSStyleGANv2Generator", out_size=8, style_channels=style, num_mlps=2,
                                        **CONFIG_F),
                         discriminator=dict(type="MSStyleGAN2Discriminator", in_size=8, with_adaptive_pool=True))
    generator = mmagic_generator_shapes(size=8, style=style, mlps=2)
    # MMagic's MS generator: the SPE buffer instead of the constant (conv1 reads its 2 × 256 channels), no
    # blur kernels in its interpolating convs
    del generator["constant_input.input"]
    generator = {k: v for k, v in generator.items() if not k.endswith("conv.blur.kernel")}
    generator["head_pos_enc._float_tensor"] = (1,)
    discriminator = mmagic_discriminator_shapes(size=8)
    discriminator["final_linear.0.linear.weight_orig"] = (C, C * 4)
    rng = torch.Generator().manual_seed(0)
    source = {f"{part}.{k}": torch.randn(shape, generator=rng)
              for part, shapes in (("generator", generator), ("discriminator", discriminator))
              for k, shape in shapes.items()}
    source["mean_path_length"] = torch.tensor(0.5)
    load_model_weights(net, {"state_dict": source}["state_dict"], "mmagic.pth")
    assert torch.equal(net.generator.conv1.conv.weight, source["generator.conv1.conv.weight_orig"])
    assert torch.equal(net.generator.convs[0].conv.style_modulation.weight,
                       source["generator.convs.0.conv.style_modulation.linear.weight_orig"])
    assert torch.equal(net.discriminator.final_linear[0].weight, source["discriminator.final_linear.0.linear.weight_orig"])


@pytest.mark.parametrize("config", [CONFIG_F, CONFIG_K, dict(CONFIG_F, head_pos_encoding=dict(type="CSG")),
                                    dict(CONFIG_K, head_pos_encoding=None, interp_head=True)])
def test_generator_makes_every_scale(config):
    torch.manual_seed(0)
    gen = MSStyleGANv2Generator(8, 8, num_mlps=1, **config).eval()
    for scale in (0, 2):
        z = torch.randn(1, 8)
        fixed = gen(z, chosen_scale=scale, randomize_noise=False)  # the injected-noise maps fit the scale
        assert fixed.shape == (1, 3, (4 + scale) * 2, (4 + scale) * 2)
        assert gen(z, chosen_scale=scale).shape == fixed.shape
    assert gen.chosen_scale == (0, 0)  # the scale holds for one call only


def test_scale_schedule_and_training_step():
    torch.manual_seed(0)
    model = MSPIEStyleGAN2(
        generator=dict(type="MSStyleGANv2Generator", out_size=8, style_channels=8, num_mlps=1,
                       **{**CONFIG_F, "head_pos_encoding": dict(type="CSG")}),
        discriminator=dict(type="MSStyleGAN2Discriminator", in_size=8, with_adaptive_pool=True),
        ema_config=dict(type="ExponentialMovingAverage", momentum=0.5),
        loss_config=dict(r1_interval=1000, g_reg_interval=1000),  # StyleGAN2's regularisers: tested there
        train_settings=dict(num_upblocks=1, multi_input_scales=[0, 1], multi_scale_probability=[0.5, 0.5]))
    draws, again = [model.draw_scale(i) for i in range(40)], copy.deepcopy(model)  # e.g. another process
    assert set(draws) == {0, 1} and draws == [again.draw_scale(i) for i in range(40)]
    iteration = next(i for i in range(1, 40) if draws[i] == 1)  # (not 0: no regulariser step)
    model.train_iter.fill_(iteration)
    optim = build_optim_wrappers(dict(generator=dict(optimizer=dict(type="Adam", lr=1e-3)),
                                      discriminator=dict(optimizer=dict(type="Adam", lr=1e-3))),
                                 model, device=torch.device("cpu"), amp=False)
    before = model.discriminator.final_linear[0].weight.clone()
    real = torch.randint(0, 256, (2, 3, 20, 20), dtype=torch.uint8)  # resized to (4 + 1) · 2 = 10 px
    losses = model.train_step({"inputs": real, "gt_img": real}, optim)
    assert float(losses["chosen_scale"]) == 1 and torch.isfinite(losses["loss_gen"])
    assert not torch.equal(before, model.discriminator.final_linear[0].weight)
    assert model.sample(2).shape == (2, 3, 8, 8)  # evaluation samples at scale 0
