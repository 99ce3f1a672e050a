"""StyleGAN2: shapes and gradients, regularizers against direct autograd, mixing, truncation, EMA, sampling."""
import contextlib
import copy
import math

import pytest
import torch

from mgx.core.errors import ConfigError, MgxError
from mgx.plugins.models.stylegan2 import StyleGAN2, StyleGAN2Discriminator, StyleGANv2Generator
from mgx.plugins.models.stylegan2.ema import AveragedGenerator


def tiny_model(size=16, **overrides):
    cfg = dict(generator=dict(type="StyleGANv2Generator", out_size=size, style_channels=8, num_mlps=2, channel_max=8),
               discriminator=dict(type="StyleGAN2Discriminator", in_size=size, channel_max=8),
               ema_config=dict(type="ExponentialMovingAverage", momentum=0.1),
               loss_config=dict(r1_interval=2, g_reg_interval=2))
    cfg.update(overrides)
    return StyleGAN2(**cfg)


class PlainOptim:
    """The engine's OptimWrapper contract (optim_context + update_params) over torch.optim.Adam."""

    def __init__(self, params):
        self.optimizer = torch.optim.Adam(params, lr=2e-3, betas=(0.0, 0.99))

    def optim_context(self, *modules):
        return contextlib.nullcontext()

    def update_params(self, loss):
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()


def optims(model):
    return {"generator": PlainOptim(model.generator.parameters()),
            "discriminator": PlainOptim(model.discriminator.parameters())}


def batch_of(num, size, start=0):
    gen = torch.Generator().manual_seed(start)
    return {"inputs": torch.randint(0, 256, (num, 3, size, size), dtype=torch.uint8, generator=gen),
            "sample_idx": torch.arange(start, start + num)}


@pytest.mark.parametrize("size", [8, 16, 32])
def test_shapes_and_gradients(size):
    gen = StyleGANv2Generator(size, style_channels=8, num_mlps=2, channel_max=8)
    disc = StyleGAN2Discriminator(size, channel_max=8)
    images = gen(torch.randn(4, 8))
    assert images.shape == (4, 3, size, size)
    logits = disc(images)
    assert logits.shape == (4, 1)
    logits.sum().backward()
    for name, parameter in list(gen.named_parameters()) + list(disc.named_parameters()):
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), name
        if "noise_injector" not in name:  # noise strengths start at 0; their gradient can be anything
            assert parameter.grad.abs().sum() > 0, name


def test_r1_term_equals_per_sample_input_gradient_norms():
    model = tiny_model(loss_config=dict(r1_interval=1, g_reg_interval=1000, r1_loss_weight=3.0, norm_mode="HWC"))
    disc64 = copy.deepcopy(model.discriminator).double()
    batch = batch_of(4, 16)
    losses = model.train_step(batch, optims(model))
    real = batch["inputs"].double() / 127.5 - 1
    # R1 = weight · E_i ‖∂(Σ_j D(x)_j)/∂x_i‖² (minibatch-stddev couples samples, so D's summed output)
    x = real.clone().requires_grad_(True)
    (grad_sum,) = torch.autograd.grad(disc64(x).sum(), x)
    expected = 3.0 * grad_sum.square().flatten(1).sum(1).mean()
    torch.testing.assert_close(losses["loss_r1_gp"].double(), expected, rtol=1e-4, atol=1e-7)


def test_r1_pixel_norm_mode():
    model = tiny_model(loss_config=dict(norm_mode="pixel"))
    grad = torch.randn(2, 3, 4, 4, dtype=torch.float64)
    expected = torch.stack([grad[:, :, i, j].norm(dim=1) ** 2 for i in range(4) for j in range(4)]).mean()
    torch.testing.assert_close(model.r1_penalty(grad).double(), expected, rtol=1e-6, atol=1e-9)


def test_path_length_term_against_per_sample_jacobians():
    model = tiny_model()
    gen = model.generator.double()
    torch.manual_seed(3)
    z = torch.randn(3, 8, dtype=torch.float64)
    noise = [n.double() for n in gen.fixed_noise()]
    latent = gen.broadcast_latent([gen.style_mapping(z)], None).detach().requires_grad_(True)
    images = gen.synthesis(latent, noise).double()
    y = torch.randn_like(images) / math.sqrt(16 * 16)
    model.mean_path_length.fill_(0.5)
    penalty, new_mean = model.path_length_penalty(images, latent, y)
    lengths = []
    for i in range(3):  # J_wᵀy of sample i, from its own image only
        latent_i = latent.detach()[i:i + 1].clone().requires_grad_(True)
        image_i = gen.synthesis(latent_i, noise)
        (g,) = torch.autograd.grad((image_i * y[i:i + 1]).sum(), latent_i)
        lengths.append(g.square().sum(dim=2).mean().sqrt())
    lengths = torch.stack(lengths)
    mean = 0.5 + 0.01 * (lengths.mean() - 0.5)
    torch.testing.assert_close(new_mean.double(), mean, rtol=1e-6, atol=1e-9)
    torch.testing.assert_close(penalty.double(), (lengths - mean).square().mean(), rtol=1e-6, atol=1e-9)


def test_train_step_updates_running_path_length_and_counters():
    model = tiny_model()
    opt = optims(model)
    first = model.train_step(batch_of(4, 16), opt)
    assert {"loss_r1_gp", "loss_path_regular", "loss_gen", "loss_disc_fake", "loss_disc_real"} <= set(first)
    assert float(model.mean_path_length) > 0
    second = model.train_step(batch_of(4, 16, 4), opt)
    assert "loss_r1_gp" not in second and "loss_path_regular" not in second  # lazy: every 2nd iteration
    assert int(model.train_iter) == 2 and int(model.generator_ema.steps) == 2
    state = model.state_dict()
    assert {"mean_path_length", "train_iter", "generator_ema.steps", "noise_seed"} <= set(state)


def test_style_mixing_switches_latents_at_the_inject_index():
    gen = StyleGANv2Generator(16, style_channels=8, num_mlps=2, channel_max=8).eval()
    z1, z2 = torch.randn(2, 8), torch.randn(2, 8)
    out = gen([z1, z2], inject_index=3, return_latents=True, randomize_noise=False)
    w1, w2 = gen.style_mapping(z1), gen.style_mapping(z2)
    assert out["latent"].shape == (2, gen.num_latents, 8)
    torch.testing.assert_close(out["latent"][:, :3], w1[:, None].expand(-1, 3, -1))
    torch.testing.assert_close(out["latent"][:, 3:], w2[:, None].expand(-1, gen.num_latents - 3, -1))
    manual = gen.synthesis(torch.cat([w1[:, None].expand(-1, 3, -1), w2[:, None].expand(-1, 3, -1)], 1),
                           gen.fixed_noise())
    torch.testing.assert_close(out["fake_img"], manual)
    # mix_prob=1 mixes every draw in training mode; evaluation mode never mixes
    gen.mix_prob = 1.0
    assert gen.train()(None, num_batches=2, return_latents=True)["inject_index"] < gen.num_latents
    assert gen.eval()(None, num_batches=2, return_latents=True)["inject_index"] == gen.num_latents


def test_truncation_zero_gives_the_mean_w_image():
    model = tiny_model().eval()
    view = model.sampling_model("orig")
    z = torch.randn(3, 8)
    images = model.sample(noise=z, truncation=0.0, randomize_noise=False, sample_model="orig")
    mean_w = model.generator.get_mean_latent()
    expected = view.synthesis(mean_w.expand(3, -1))
    torch.testing.assert_close(images, expected)
    assert torch.equal(images[0], images[1])
    half = model.sample(noise=z, truncation=0.5, truncation_latent=torch.zeros(1, 8), randomize_noise=False,
                        sample_model="orig")
    torch.testing.assert_close(half, view.synthesis(0.5 * view.mapping(z)))


def test_samples_do_not_depend_on_batch_composition():
    model = tiny_model().eval()
    with torch.no_grad():  # noise strengths start at 0; make the injected noise visible
        for name, parameter in model.generator_ema.named_parameters():
            if "noise_injector" in name:
                parameter.fill_(0.5)
    z = torch.randn(5, 8)
    full = model.sample(noise=z)
    torch.testing.assert_close(model.sample(noise=z[2:4]), full[2:4])
    assert not torch.equal(full, model.sample(noise=z, randomize_noise=False))


def test_ema_follows_mmagic_rules():
    gen = StyleGANv2Generator(8, style_channels=4, num_mlps=1, channel_max=4)
    ema = AveragedGenerator(gen, type="ExponentialMovingAverage", momentum=0.25)
    ema.update_parameters(gen)  # first update copies
    first = [p.clone() for p in gen.parameters()]
    with torch.no_grad():
        for p in gen.parameters():
            p.add_(1.0)
    ema.update_parameters(gen)
    for avg, old, new in zip(ema.module.parameters(), first, gen.parameters()):
        torch.testing.assert_close(avg, 0.75 * old + 0.25 * new)
    ramp = AveragedGenerator(gen, type="RampUpEMA", ema_kimg=10, ema_rampup=0.05, batch_size=4)
    # StyleGAN3: beta = 0.5 ** (batch / min(10000, (steps + 1) * batch * 0.05))
    assert ramp.new_weight(9) == pytest.approx(1 - 0.5 ** (4 / (40 * 0.05)))
    assert ramp.new_weight(10 ** 6) == pytest.approx(1 - 0.5 ** (4 / 10000))


def test_sampling_model_choice_and_capabilities():
    model = tiny_model()
    opt = optims(model)
    model.train_step(batch_of(4, 16), opt)
    model.train_step(batch_of(4, 16, 4), opt)
    assert model.sampling_model("ema").generator is model.generator_ema.module
    assert model.sampling_model("orig").generator is model.generator
    z = torch.randn(2, 8)
    assert not torch.equal(model.sample(noise=z, sample_model="ema"), model.sample(noise=z, sample_model="orig"))
    w = model.mapping(z)
    assert w.shape == (2, 8)
    shifted = model.synthesis(w, transform=torch.tensor([[1.0, 0, -0.25], [0, 1, 0], [0, 0, 1]]))
    identity = model.synthesis(w, transform=torch.eye(3))
    torch.testing.assert_close(identity, model.synthesis(w), rtol=1e-5, atol=1e-5)
    assert shifted.shape == identity.shape and not torch.allclose(shifted, identity)


def test_clear_configuration_errors():
    with pytest.raises(ConfigError, match="out_size must be a power of two"):
        tiny_model(generator=dict(type="StyleGANv2Generator", out_size=24))
    with pytest.raises(ConfigError, match="generator.type must be one of"):
        tiny_model(generator=dict(type="StyleGAN3Generator", out_size=16))
    with pytest.raises(ConfigError, match="unknown loss_config key"):
        tiny_model(loss_config=dict(r1_weight=1.0))
    with pytest.raises(ConfigError, match="ema_config.type"):
        tiny_model(ema_config=dict(type="SWA"))
    model = tiny_model()
    with pytest.raises(MgxError, match="generator makes"):
        model.train_step(batch_of(4, 32), optims(model))


class AutocastOptim(PlainOptim):
    """As the engine's OptimWrapper under --amp on CPU: forward passes in bfloat16 autocast."""

    def optim_context(self, *modules):
        return torch.autocast("cpu", dtype=torch.bfloat16)


def test_train_step_under_cpu_autocast():
    model = tiny_model()
    opt = {"generator": AutocastOptim(model.generator.parameters()),
           "discriminator": AutocastOptim(model.discriminator.parameters())}
    losses = model.train_step(batch_of(4, 16), opt)
    assert {"loss_r1_gp", "loss_path_regular"} <= set(losses)
    assert all(torch.isfinite(v) for v in losses.values())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        images = model.sample(2)
    assert images.dtype == torch.float32 and images.shape == (2, 3, 16, 16)
