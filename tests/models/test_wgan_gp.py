"""WGAN-GP: MMagic's gradient_penalty_loss against a float64 computation of its definition, WGANGPGenerator /
WGANGPDiscriminator layout and keys (read off MMagic's wgan_generator.py, wgan_discriminator.py and
wgan_gp_module.py), the WGANGP losses, and MMagic's config through the CLI."""
import logging

import pytest
import torch
from torch import nn

from mgx.core.engine.checkpoint import load_model_weights
from mgx.core.engine.optim import build_optim_wrappers
from mgx.core.errors import ConfigError
from mgx.core.registry import build
from mgx.plugins.models.losses.gradient_penalty import gradient_penalty_loss

from gan_zoo_helpers import CONFIGS, loader_options, train_and_test, write_image_folder

CPU = torch.device("cpu")


class QuadraticCritic(nn.Module):
    """D(x) = Σ w·x² + v·x per sample: ∇D = 2w·x + v, known in closed form."""

    def __init__(self, shape, seed=0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.w = nn.Parameter(torch.randn(shape, generator=gen) * 0.3)
        self.v = nn.Parameter(torch.randn(shape, generator=gen) * 0.3)

    def forward(self, x):
        return (self.w * x * x + self.v * x).flatten(1).sum(1, keepdim=True)


@pytest.mark.parametrize("norm_mode", ["HWC", "pixel"])
@pytest.mark.parametrize("masked", [False, True])
def test_gradient_penalty_matches_float64_definition(norm_mode, masked):
    gen = torch.Generator().manual_seed(1)
    real, fake = torch.randn(4, 3, 5, 6, generator=gen), torch.randn(4, 3, 5, 6, generator=gen)
    mask = (torch.rand(4, 1, 5, 6, generator=gen) > 0.3).float() if masked else None
    critic = QuadraticCritic((3, 5, 6))
    torch.manual_seed(7)
    penalty = gradient_penalty_loss(critic, real, fake, mask=mask, norm_mode=norm_mode)
    torch.manual_seed(7)
    alpha = torch.rand(4, 1, 1, 1).double()  # the same per-sample draw
    x_hat = alpha * real.double() + (1 - alpha) * fake.double()
    grad = 2 * critic.w.detach().double() * x_hat + critic.v.detach().double()
    if masked:
        grad = grad * mask.double()
    norms = grad.flatten(1).norm(dim=1) if norm_mode == "HWC" else grad.norm(dim=1)
    expected = ((norms - 1) ** 2).mean()
    if masked:
        expected = expected / mask.double().mean()
    assert abs(float(penalty.detach()) - float(expected)) <= 1e-5 * float(expected)
    penalty.backward()  # differentiable in the critic's parameters (create_graph)
    assert critic.w.grad is not None and torch.isfinite(critic.w.grad).all()


def test_gradient_penalty_rejects_unknown_norm_mode():
    with pytest.raises(ConfigError, match="norm_mode"):
        gradient_penalty_loss(QuadraticCritic((1, 2, 2)), torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2),
                              norm_mode="L1")


# (key, shape) of MMagic's WGANGPGenerator(noise_size=8, out_scale=8) and WGANGPDiscriminator(in_scale=8):
# fixed widths 512; conv_blocks[1] (generator) and [2] (discriminator) are the parameter-free resampling layers
MMAGIC_GENERATOR = {
    "noise2feat.linear.weight": (8192, 8), "noise2feat.bias": (1, 512, 1, 1), "noise2feat.norm.weight": (512,),
    "noise2feat.norm.running_var": (512,), "conv_blocks.0.conv.weight": (512, 512, 3, 3),
    "conv_blocks.0.conv.bias": (512,), "conv_blocks.0.bn.weight": (512,), "conv_blocks.2.conv.weight": (512, 512, 3, 3),
    "conv_blocks.3.bn.num_batches_tracked": (), "to_rgb.conv.weight": (3, 512, 1, 1), "to_rgb.conv.bias": (3,),
}
MMAGIC_DISCRIMINATOR_LN = {
    "from_rgb.conv.weight": (512, 3, 1, 1), "from_rgb.conv.bias": (512,), "conv_blocks.0.conv.weight": (512, 512, 3, 3),
    "conv_blocks.0.conv.bias": (512,), "conv_blocks.0.LN2d.weight": (512, 8, 8), "conv_blocks.1.LN2d.bias": (512, 8, 8),
    "decision.conv.conv.weight": (512, 512, 4, 4), "decision.conv.conv.bias": (512,),
    "decision.conv.LN2d.weight": (512, 1, 1), "decision.linear.weight": (1, 512), "decision.linear.bias": (1,),
}
GN = dict(conv_cfg=None, kernel_size=3, stride=1, padding=1, bias=True,
          act_cfg=dict(type='LeakyReLU', negative_slope=0.2), norm_cfg=dict(type='GN'), order=('conv', 'norm', 'act'))


def model_cfg(conv_module_cfg=None, **extra):
    return dict(type="WGANGP", data_preprocessor=dict(type="DataPreprocessor"),
                generator=dict(type="WGANGPGenerator", noise_size=8, out_scale=8),
                discriminator=dict(type="WGANGPDiscriminator", in_channel=3, in_scale=8,
                                   conv_module_cfg=conv_module_cfg), **extra)


def test_networks_have_mmagics_layout_and_keys():
    model = build(model_cfg(), "model")
    state = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    for prefix, recorded in (("generator.", MMAGIC_GENERATOR), ("discriminator.", MMAGIC_DISCRIMINATOR_LN)):
        for key, shape in recorded.items():
            assert state[prefix + key] == shape, key
    assert len([k for k in state if k.startswith("discriminator.")]) == 2 + 2 * 4 + 4 + 2
    assert not any("conv_blocks.1." in k for k in state if k.startswith("generator."))  # the upsample
    gn = build(model_cfg(GN), "model")
    assert tuple(gn.state_dict()["discriminator.conv_blocks.0.GN.weight"].shape) == (512,)
    assert tuple(gn.state_dict()["discriminator.decision.conv.GN.bias"].shape) == (512,)
    assert gn.sample(3).shape == (3, 3, 8, 8)
    assert gn.discriminator(torch.zeros(2, 3, 8, 8)).shape == (2, 1)
    # MMagic-style checkpoint (mmengine wrapper; data_preprocessor buffers dropped) loads
    weights = {k: torch.randn(v.shape) if v.is_floating_point() else v for k, v in gn.state_dict().items()}
    fresh = build(model_cfg(GN), "model")
    load_model_weights(fresh, {**weights, "data_preprocessor.mean": torch.zeros(1, 3, 1, 1)}, "mmagic.pth")
    assert torch.equal(fresh.generator.noise2feat.bias, weights["generator.noise2feat.bias"])


def test_initialisation_is_mmagics():
    torch.manual_seed(0)
    generator = build(dict(type="WGANGPGenerator", noise_size=8, out_scale=8), "model")
    assert abs(float(generator.noise2feat.linear.weight.detach().std()) - 1.0) < 0.02  # N(0, 1)
    conv = generator.conv_blocks[0].conv.weight.detach()  # Kaiming (ReLU gain), fan_out = 512·9
    assert abs(float(conv.std()) - (2 / (512 * 9)) ** 0.5) < 0.001
    assert float(generator.conv_blocks[0].conv.bias.detach().abs().max()) == 0


def test_losses_follow_the_definition(caplog):
    torch.manual_seed(0)
    with caplog.at_level(logging.WARNING, logger="mgx"):
        model = build(model_cfg(GN, loss_config=dict(gp_norm_mode="HWC", gp_loss_weight=50)), "model")
    assert "are not read" in caplog.text and model.gp_loss_weight == 10.0  # as MMagic 1.2.0 trains it
    model = build(model_cfg(GN, loss_config=dict(loss_weight=3.0, norm_mode="pixel"), discriminator_steps=2), "model")
    adam = dict(optimizer=dict(type="Adam", lr=1e-4, betas=(0.5, 0.9)))
    optim = build_optim_wrappers(dict(generator=adam, discriminator=adam), model, device=CPU, amp=False)
    images = torch.randint(0, 256, (1, 3, 8, 8), dtype=torch.uint8)  # MMagic's fixed 512 widths: one image
    losses = model.train_step({"inputs": images}, optim)
    assert set(losses) == {"loss_disc", "loss_disc_fake", "loss_disc_real", "loss_gp"}  # no generator phase yet
    assert torch.allclose(losses["loss_disc"], losses["loss_disc_fake"] + losses["loss_disc_real"] + losses["loss_gp"])
    assert float(losses["loss_gp"]) > 0
    assert "loss_gen" in model.train_step({"inputs": images}, optim)
    with pytest.raises(ConfigError, match="unknown"):
        build(model_cfg(loss_config=dict(weight=1)), "model")
    with pytest.raises(ConfigError, match="in_scale must be one of"):
        build(dict(type="WGANGPDiscriminator", in_channel=3, in_scale=48), "model")


def test_mmagic_config_trains_and_tests_through_the_cli(tmp_path, monkeypatch):
    data = write_image_folder(tmp_path / "celeba")
    config = CONFIGS / "wgan-gp" / "wgangp_GN_1xb64-160kiters_celeba-cropped-128x128.py"
    # SWD needs ≥ 16 px: the smallest size of MMagic's width table that it evaluates
    options = loader_options(data) + ["train_cfg.max_iters=2", "model.generator.out_scale=16",
                                      "model.discriminator.in_scale=16", "train_dataloader.batch_size=1"]
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        options.append(f"{loader}.dataset.pipeline.1.scale=(16,16)")
    for evaluator in ("val_evaluator", "test_evaluator"):
        options += [f"{evaluator}.metrics.0.fake_nums=2", f"{evaluator}.metrics.1.fake_nums=2",
                    f"{evaluator}.metrics.1.image_shape=(3,16,16)"]
    assert {"ms-ssim/avg", "swd/avg"} <= set(train_and_test(config, tmp_path, options, monkeypatch))
