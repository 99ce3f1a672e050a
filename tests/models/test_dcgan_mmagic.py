"""DCGAN in MMagic 1.2.0's config form: its DCGANGenerator/DCGANDiscriminator arguments, layout,
state-dict keys and the shared DataPreprocessor (the layout is read off MMagic's dcgan_generator.py /
dcgan_discriminator.py: ConvModule = conv -> [bn] -> [activate], bias only without a norm)."""
import pytest
import torch
from torch import nn

from mgx.core.engine.checkpoint import load_model_weights, weights_of
from mgx.core.errors import ConfigError
from mgx.core.engine.optim import build_optim_wrappers
from mgx.core.registry import build

CPU = torch.device("cpu")
# model of MMagic's _base_/models/dcgan/base_dcgan_64x64.py
MMAGIC_64 = dict(type='DCGAN', noise_size=100, data_preprocessor=dict(type='DataPreprocessor'),
                 generator=dict(type='DCGANGenerator', output_scale=64, base_channels=1024),
                 discriminator=dict(type='DCGANDiscriminator', input_scale=64, output_scale=4, out_channels=1))


def small(scale, noise_size=16, **extra):
    return dict(type='DCGAN', noise_size=noise_size, data_preprocessor=dict(type='DataPreprocessor'),
                generator=dict(type='DCGANGenerator', output_scale=scale, base_channels=32),
                discriminator=dict(type='DCGANDiscriminator', input_scale=scale, output_scale=4, out_channels=1,
                                   base_channels=8), **extra)


@pytest.mark.parametrize("scale", [32, 64])
def test_mmagic_form_shapes(scale):
    model = build(small(scale), "model").eval()
    assert model.latent_dim == model.noise_size == model.generator.noise_size == 16
    noise = torch.randn(3, 16)
    images = model.generator(noise)
    assert images.shape == (3, 3, scale, scale)
    assert torch.equal(model.generator(noise.view(3, 16, 1, 1)), images)
    assert model.discriminator(images).shape == (3, 1)
    samples = model.sample(noise=noise)
    assert samples.shape == (3, 3, scale, scale) and samples.min() >= -1 and samples.max() <= 1
    # DataPreprocessor mean = std = 127.5: sample's [-1, 1] is the Tanh output itself
    assert torch.allclose(samples, images, atol=1e-6)
    fake = model.val_step({"inputs": torch.zeros(5, 3, scale, scale, dtype=torch.uint8)})["fake_img"]
    assert fake.shape == (5, 3, scale, scale) and fake.min() >= 0 and fake.max() <= 255


def test_mmagic_64_layout_matches_mmagic():
    model = build(MMAGIC_64, "model")
    gen, disc = model.generator, model.discriminator
    # generator: 100 -> 1024 (4×4) -> 512 -> 256 -> 128 -> 3 (64×64)
    assert [layer.conv.out_channels for layer in [gen.noise2feat, *gen.upsampling, gen.output_layer]] == \
        [1024, 512, 256, 128, 3]
    assert gen.noise2feat.conv.bias is None and gen.output_layer.conv.bias is not None
    assert isinstance(gen.noise2feat.activate, nn.ReLU) and isinstance(gen.output_layer.activate, nn.Tanh)
    # discriminator: 3 -> 128 (no norm) -> 256 -> 512 -> 1024 (4×4) -> 1 (1×1); LeakyReLU's default slope
    assert [layer.conv.out_channels for layer in [*disc.downsamples, disc.output_layer]] == [128, 256, 512, 1024, 1]
    assert disc.downsamples[0].norm_name is None and disc.downsamples[0].conv.bias is not None
    assert disc.downsamples[1].norm_name == "bn" and disc.downsamples[1].conv.bias is None
    assert disc.downsamples[1].activate.negative_slope == 0.01 and disc.output_layer.activate is None
    expected_params = (100 * 1024 * 16 + 2 * 1024 + 1024 * 512 * 16 + 2 * 512 + 512 * 256 * 16 + 2 * 256
                       + 256 * 128 * 16 + 2 * 128 + 128 * 3 * 16 + 3
                       + 3 * 128 * 16 + 128 + 128 * 256 * 16 + 2 * 256 + 256 * 512 * 16 + 2 * 512
                       + 512 * 1024 * 16 + 2 * 1024 + 1024 * 1 * 16 + 1)
    assert sum(p.numel() for p in model.parameters()) == expected_params
    keys = set(model.state_dict())
    # MMagic's state-dict keys (ConvModule names: conv / bn); mean and std are not saved
    for key in ("generator.noise2feat.conv.weight", "generator.noise2feat.bn.running_var",
                "generator.upsampling.2.bn.num_batches_tracked", "generator.output_layer.conv.bias",
                "discriminator.downsamples.0.conv.bias", "discriminator.downsamples.3.bn.weight",
                "discriminator.output_layer.conv.weight"):
        assert key in keys, key
    assert not any(key.startswith("data_preprocessor.") for key in keys)


def test_mmagic_initialisation():
    torch.manual_seed(0)
    model = build(MMAGIC_64, "model")
    conv = model.generator.upsampling[0].conv.weight.detach()
    assert abs(float(conv.std()) - 0.02) < 0.001 and abs(float(conv.mean())) < 0.001
    assert float(model.generator.output_layer.conv.bias.detach().abs().max()) == 0.0
    scales = torch.cat([model.discriminator.downsamples[i].bn.weight.detach() for i in (1, 2, 3)])
    assert abs(float(scales.std()) - 1.0) < 0.1  # nn.init.normal_ with its defaults, as MMagic's init_weights


def test_mmagic_form_trains_and_arguments():
    torch.manual_seed(0)
    config = small(32)
    config["generator"].update(default_act_cfg=dict(type='LeakyReLU', negative_slope=0.2))
    config["discriminator"].update(default_norm_cfg=dict(type='IN', affine=True))
    model = build(config, "model")
    assert model.generator.noise2feat.activate.negative_slope == 0.2
    assert model.discriminator.downsamples[1].norm_name == "in"
    adam = dict(optimizer=dict(type="Adam", lr=1e-3, betas=(0.5, 0.999)))
    optim = build_optim_wrappers(dict(generator=adam, discriminator=adam), model, device=CPU, amp=False)
    before = model.generator.output_layer.conv.weight.detach().clone()
    losses = model.train_step({"inputs": torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)}, optim)
    assert set(losses) == {"loss_disc", "loss_disc_real", "loss_disc_fake", "loss_gen"}
    assert all(torch.isfinite(value) for value in losses.values())
    assert not torch.equal(before, model.generator.output_layer.conv.weight)


def test_discriminator_steps_is_mmagics_schedule_and_resumes_in_phase():
    # MMagic: one discriminator update per iteration, the generator's every k-th (mgx's
    # disc_steps=k would make k discriminator updates per iteration instead)
    torch.manual_seed(0)
    model = build({**small(32), "discriminator_steps": 3, "generator_steps": 2}, "model")
    adam = dict(optimizer=dict(type="Adam", lr=1e-3, betas=(0.5, 0.999)))
    optim = build_optim_wrappers(dict(generator=adam, discriminator=adam), model, device=CPU, amp=False)
    batch = {"inputs": torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)}

    def steps(name, network):
        return optim[name].optimizer.state.get(next(network.parameters()), {}).get("step", 0)
    had_gen_loss = ["loss_gen" in model.train_step(batch, optim) for _ in range(4)]
    assert had_gen_loss == [False, False, True, False]
    assert steps("discriminator", model.discriminator) == 4 and steps("generator", model.generator) == 2
    resumed = build({**small(32), "discriminator_steps": 3, "generator_steps": 2}, "model")
    resumed.load_state_dict(model.state_dict())  # the iteration count travels with the weights
    assert int(resumed.train_iter) == 4
    optim_resumed = build_optim_wrappers(dict(generator=adam, discriminator=adam), resumed, device=CPU, amp=False)
    assert ["loss_gen" in resumed.train_step(batch, optim_resumed) for _ in range(2)] == [False, True]
    assert "train_iter" not in build(small(32), "model").state_dict()  # the default layout is unchanged


@pytest.mark.parametrize("change, message", [
    (dict(discriminator=dict(type='DCGANDiscriminator', input_scale=64, output_scale=4, out_channels=1)),
     "generator.output_scale = discriminator.input_scale"),
    (dict(latent_dim=8), "latent_dim belong to DCGAN's mgx form"),
    (dict(generator=dict(type='DCGANGenerator', output_scale=32, noise_size=8)), "noise_size=16 but generator"),
    (dict(discriminator=None), "needs both generator"),
    (dict(generator=dict(type='DCGANGenerator', output_scale=48)), "power of two"),
    (dict(generator=dict(type='DCGANGenerator', output_scale=32, input_scale=8)), "input_scale must be 4"),
    (dict(generator=dict(type='DCGANGenerator', output_scale=32, default_norm_cfg=dict(type='GN'))), "norm_cfg"),
    (dict(data_preprocessor=dict(type='Resize')), "data_preprocessor must be"),
    (dict(ema_config=dict(momentum=0.999)), "top-level"),
    (dict(discriminator_steps=0), "discriminator_steps must be a positive int"),
    (dict(discriminator_steps=2, disc_steps=2), "not both"),
])
def test_mmagic_form_errors(change, message):
    with pytest.raises(ConfigError, match=message):
        build({**small(32), **change}, "model")


def test_mgx_form_rejects_noise_size():
    with pytest.raises(ConfigError, match="use latent_dim"):
        build(dict(type='DCGAN', latent_dim=8, image_size=8, base_channels=8, noise_size=8), "model")


def test_mgx_form_keeps_its_layout():
    model = build(dict(type='DCGAN', latent_dim=8, image_size=16, base_channels=8), "model")
    assert model.data_preprocessor is None and model.latent_dim == 8
    assert {"generator.net.0.weight", "discriminator.net.0.weight"} <= set(model.state_dict())
    assert model.discriminator.net[1].negative_slope == 0.2


def test_load_from_mmagic_checkpoint():
    """An mmengine checkpoint (weights under state_dict, preprocessor buffers alongside) loads as it is."""
    source = build(small(32), "model")
    mmagic_file = {"meta": {"iter": 10}, "state_dict": {**source.state_dict(),
                                                        "data_preprocessor.mean": torch.full((3, 1, 1), 127.5)}}
    target = build(small(32), "model")
    load_model_weights(target, weights_of(mmagic_file), "dcgan.pth")
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value), key
