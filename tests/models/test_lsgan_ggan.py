"""LSGAN and GGAN: MMagic's LSGANGenerator / LSGANDiscriminator layout and keys (read off its
lsgan_generator.py and lsgan_discriminator.py), the least-squares and hinge losses against float64
computations of their definitions, DCGAN networks under both models (MMagic's dcgan-archi configs), and
one MMagic config per family through the CLI."""
import pytest
import torch

from mgx.core.engine.checkpoint import load_model_weights
from mgx.core.engine.optim import build_optim_wrappers
from mgx.core.errors import ConfigError
from mgx.core.registry import build

from gan_zoo_helpers import CONFIGS, loader_options, tiny_metric_options, train_and_test, write_image_folder

CPU = torch.device("cpu")
ADAM = dict(optimizer=dict(type="Adam", lr=1e-4, betas=(0.5, 0.99)))


def lsgan_networks(kind="LSGAN", **extra):
    return dict(type=kind, noise_size=16, data_preprocessor=dict(type="DataPreprocessor"),
                generator=dict(type="LSGANGenerator", output_scale=32, base_channels=8, noise_size=16),
                discriminator=dict(type="LSGANDiscriminator", input_scale=32, base_channels=4), **extra)


def dcgan_networks(kind):
    return dict(type=kind, noise_size=8, data_preprocessor=dict(type="DataPreprocessor"),
                generator=dict(type="DCGANGenerator", output_scale=16, base_channels=16),
                discriminator=dict(type="DCGANDiscriminator", input_scale=16, output_scale=4, out_channels=1,
                                   base_channels=4))


# (key, shape) of MMagic's LSGANGenerator(output_scale=32, base_channels=8, input_scale=8, noise_size=16) and
# LSGANDiscriminator(input_scale=32, output_scale=8, base_channels=4): the 8 -> 32 generator has no
# (up, conv) pair (log2(32/8) - 2 = 0), only the two halving up-convs and the output conv; transposed
# weights are in×out×k×k; ConvModules under BN have no conv bias
MMAGIC_GENERATOR = {
    "noise2feat_head.0.weight": (512, 16), "noise2feat_head.0.bias": (512,), "noise2feat_tail.0.weight": (8,),
    "noise2feat_tail.0.running_mean": (8,), "conv_blocks.0.conv.weight": (8, 4, 3, 3),
    "conv_blocks.0.bn.bias": (4,), "conv_blocks.1.conv.weight": (4, 2, 3, 3), "conv_blocks.2.conv.weight": (2, 3, 3, 3),
    "conv_blocks.2.conv.bias": (3,),
}
MMAGIC_DISCRIMINATOR = {
    "conv_blocks.0.conv.weight": (4, 3, 5, 5), "conv_blocks.0.conv.bias": (4,),
    "conv_blocks.1.conv.weight": (8, 4, 5, 5), "conv_blocks.1.bn.weight": (8,), "decision.0.weight": (1, 512), "decision.0.bias": (1,),
}


def test_lsgan_networks_have_mmagics_layout_and_keys():
    model = build(lsgan_networks(), "model")
    state = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    for prefix, recorded in (("generator.", MMAGIC_GENERATOR), ("discriminator.", MMAGIC_DISCRIMINATOR)):
        for key, shape in recorded.items():
            assert state[prefix + key] == shape, key
    assert "generator.conv_blocks.0.conv.bias" not in state and len(model.generator.conv_blocks) == 3
    deeper = build(dict(type="LSGANGenerator", output_scale=128, base_channels=16, noise_size=4), "model")
    assert len(deeper.conv_blocks) == 2 * 2 + 3  # log2(128/8) - 2 = 2 (up, conv) pairs
    assert deeper(torch.randn(2, 4)).shape == (2, 3, 128, 128)
    assert model.sample(2).shape == (2, 3, 32, 32)
    weights = {k: torch.randn(v.shape) if v.is_floating_point() else v for k, v in model.state_dict().items()}
    fresh = build(lsgan_networks(), "model")
    load_model_weights(fresh, weights, "lsgan_mmagic.pth")
    assert torch.equal(fresh.discriminator.decision[0].weight, weights["discriminator.decision.0.weight"])


def _losses_in_float64(model, kind, real_logits, fake_logits):
    real, fake = real_logits.double(), fake_logits.double()
    if kind == "LSGAN":
        return ((fake ** 2).mean(), ((real - 1) ** 2).mean()), ((fake - 1) ** 2).mean()
    return (torch.relu(1 + fake).mean(), torch.relu(1 - real).mean()), -fake.mean()


@pytest.mark.parametrize("kind", ["LSGAN", "GGAN"])
@pytest.mark.parametrize("networks", [lsgan_networks, dcgan_networks])
def test_losses_follow_the_definition(kind, networks):
    torch.manual_seed(0)
    cfg = networks(kind) if networks is dcgan_networks else networks(kind)
    model = build(cfg, "model")
    size = model.image_size
    real = torch.rand(3, 3, size, size) * 2 - 1
    fake = torch.rand(3, 3, size, size) * 2 - 1
    terms = {name: term.detach() for name, term in model._disc_loss_terms(real, fake).items()}
    with torch.no_grad():
        real_logits, fake_logits = model.discriminator(real), model.discriminator(fake)
    (fake_term, real_term), gen_term = _losses_in_float64(model, kind, real_logits, fake_logits)
    assert abs(float(terms["loss_disc_fake"]) - float(fake_term)) < 1e-6 * max(1.0, float(fake_term))
    assert abs(float(terms["loss_disc_real"]) - float(real_term)) < 1e-6 * max(1.0, float(real_term))
    assert abs(float(model._gen_loss(fake_logits)) - float(gen_term)) < 1e-6 * max(1.0, abs(float(gen_term)))
    optim = build_optim_wrappers(dict(generator=ADAM, discriminator=ADAM), model, device=CPU, amp=False)
    losses = model.train_step({"inputs": torch.randint(0, 256, (2, 3, size, size), dtype=torch.uint8)}, optim)
    assert set(losses) == {"loss_disc", "loss_disc_fake", "loss_disc_real", "loss_gen"}


def test_errors_name_the_problem():
    with pytest.raises(ConfigError, match="generator must be dict"):
        build({**lsgan_networks(), "generator": dict(type="WGANGPGenerator", noise_size=16, out_scale=32)}, "model")
    with pytest.raises(ConfigError, match="needs both generator"):
        build(dict(type="GGAN", noise_size=8), "model")
    with pytest.raises(ConfigError, match="GGAN: latent_dim belong to DCGAN's mgx form"):
        build(dict(type="GGAN", latent_dim=8), "model")
    with pytest.raises(ConfigError, match="power of two ≥ 4"):
        build(dict(type="LSGANGenerator", output_scale=16, input_scale=8), "model")


def run_unconditional_config(config, tmp_path, monkeypatch, options):
    data = write_image_folder(tmp_path / "images")
    options = loader_options(data) + ["train_cfg.max_iters=2", "model.noise_size=16"] + options
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        options.append(f"{loader}.dataset.pipeline.1.scale=(32,32)")
    return train_and_test(config, tmp_path, options, monkeypatch)


TINY_LSGAN_NETWORKS = ["model.generator.output_scale=32", "model.generator.base_channels=8",
                       "model.discriminator.input_scale=32", "model.discriminator.base_channels=4"]


def test_mmagic_lsgan_config_trains_and_tests_through_the_cli(tmp_path, monkeypatch):
    config = CONFIGS / "lsgan" / "lsgan_lsgan-archi_lr1e-4-1xb64-10Mimgs_lsun-bedroom-128x128.py"
    options = TINY_LSGAN_NETWORKS + ["model.generator.noise_size=16"]
    options += tiny_metric_options(tmp_path, {"val_evaluator": (0,), "test_evaluator": (0,)})
    options += ["val_evaluator.metrics.0.real_nums=2", "test_evaluator.metrics.0.real_nums=2",
                # MMagic's config saves the best of 'FID-Full-50k/fid', which its metric (prefix 'FID-50k')
                # does not produce: MMEngine would fail at the first validation, mgx before training
                "default_hooks.checkpoint.save_best=FID-50k/fid"]
    metrics = run_unconditional_config(config, tmp_path, monkeypatch, options)
    assert "FID-50k/fid" in metrics


def test_mmagic_ggan_config_trains_and_tests_through_the_cli(tmp_path, monkeypatch):
    config = CONFIGS / "ggan" / "ggan_lsgan-archi_lr1e-4-1xb128-20Mimgs_lsun-bedroom-64x64.py"
    options = TINY_LSGAN_NETWORKS + tiny_metric_options(tmp_path, {"val_evaluator": (0,), "test_evaluator": (0,)})
    options += ["test_evaluator.metrics.1.fake_nums=2", "test_evaluator.metrics.2.fake_nums=2",
                "test_evaluator.metrics.2.image_shape=(3,32,32)"]
    metrics = run_unconditional_config(config, tmp_path, monkeypatch, options)
    assert {"FID-Full-50k/fid", "ms-ssim/avg", "swd/avg"} <= set(metrics)
