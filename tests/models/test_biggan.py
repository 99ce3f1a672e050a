"""BigGAN: orthogonal regularisation against a float64 computation of its definition, MMagic's BigGAN /
BigGAN-deep layouts and keys (read off biggan_generator.py, biggan_deep_generator.py,
biggan_discriminator.py, biggan_deep_discriminator.py, biggan_modules.py), hierarchical latents, and
MMagic's CIFAR-10 config through the CLI: trained, resumed bit-exactly, tested; 2 processes = 1."""
import pytest
import torch

from mgx.core.engine.checkpoint import load_model_weights
from mgx.core.errors import ConfigError
from mgx.core.registry import build
from mgx.plugins.models.biggan import orthogonal_regularisation
from mgx.plugins.models.ops.spectral_norm import raw_weight

from gan_zoo_helpers import (CONFIGS, evaluate_checkpoint, loader_options, run_ok, tiny_metric_options,
                             write_cifar10_layout)

CONFIG = CONFIGS / "biggan" / "biggan_2xb25-500kiters_cifar10-32x32.py"


def test_orthogonal_regularisation_matches_its_definition_in_float64():
    torch.manual_seed(0)
    generator = build(dict(type="BigGANGenerator", output_scale=32, noise_size=12, num_classes=3, base_channels=2,
                           shared_dim=4, sn_style="torch"), "model")
    expected, weights = 0.0, []
    for module in generator.modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
            weight = raw_weight(module)
            matrix = weight.detach().double().reshape(weight.shape[0], -1)
            gram = matrix @ matrix.t()
            expected += float(((gram * (1 - torch.eye(gram.shape[0], dtype=torch.float64))) ** 2).sum())
            weights.append((weight, matrix))
    value = orthogonal_regularisation(generator)
    assert abs(float(value.detach()) - expected) <= 1e-5 * expected
    value.backward()  # d/dW ‖W Wᵀ ⊙ (1 − I)‖² = 4 (W Wᵀ ⊙ (1 − I)) W
    weight, matrix = weights[3]
    masked = (matrix @ matrix.t()) * (1 - torch.eye(matrix.shape[0], dtype=torch.float64))
    assert torch.allclose(weight.grad.double().reshape(matrix.shape), 4 * masked @ matrix, rtol=1e-4, atol=1e-6)


BIGGAN_128 = {  # base_biggan_128x128 at base_channels 8, 5 classes, ajbrock spectral norm; noise 120 in 6 chunks
    "generator.noise2feat.weight": (2048, 20), "generator.noise2feat.u0": (1, 2048), "generator.noise2feat.sv0": (1,),
    "generator.shared_embedding.weight": (5, 128), "generator.conv_blocks.0.bn1.gain.weight": (128, 148),
    "generator.conv_blocks.0.bn1.gain.u0": (1, 128), "generator.conv_blocks.0.bn1.bn.running_mean": (128,),
    "generator.conv_blocks.0.shortcut.conv.weight": (128, 128, 1, 1), "generator.conv_blocks.4.theta.conv.weight":
        (2, 16, 1, 1), "generator.conv_blocks.4.gamma": (), "generator.conv_blocks.5.conv2.conv.weight": (8, 8, 3, 3),
    "generator.output_layer.bn.weight": (8,), "generator.output_layer.conv.u0": (1, 3),
    "discriminator.conv_blocks.0.conv1.conv.weight": (8, 3, 3, 3), "discriminator.conv_blocks.1.theta.conv.weight":
        (1, 8, 1, 1), "discriminator.conv_blocks.6.conv1.conv.weight": (128, 128, 3, 3),
    "discriminator.decision.u0": (1, 1), "discriminator.proj_y.weight": (5, 128), "discriminator.proj_y.u0": (1, 5),
}
DEEP_128 = {  # BigGAN-deep 128 at base_channels 4, torch spectral norm, noise 128 concatenated with the embedding
    "generator.noise2feat.weight_orig": (1024, 256), "generator.conv_blocks.0.bn1.gain.weight_orig": (64, 256),
    "generator.conv_blocks.0.conv1.conv.weight_orig": (16, 64, 1, 1),
    "generator.conv_blocks.2.conv4.conv.weight_orig": (64, 16, 1, 1),
    "generator.conv_blocks.3.conv4.conv.weight_orig": (32, 16, 1, 1), "generator.conv_blocks.8.theta.conv.weight_orig":
        (1, 8, 1, 1), "discriminator.input_conv.conv.weight_orig": (4, 3, 3, 3),
    "discriminator.conv_blocks.0.shortcut.conv.weight_orig": (4, 4, 1, 1),
    "discriminator.conv_blocks.0.conv1.conv.weight_orig": (2, 4, 1, 1), "discriminator.conv_blocks.2.gamma": (),
}


def biggan_128(deep=False):
    kind = "BigGANDeep" if deep else "BigGAN"
    style = dict(sn_style="torch", act_cfg=dict(type="ReLU", inplace=True)) if deep else {}
    base = 4 if deep else 8
    return dict(type="BigGAN", num_classes=5,
                generator=dict(type=f"{kind}Generator", output_scale=128, noise_size=128 if deep else 120,
                               base_channels=base, shared_dim=128, **style),
                discriminator=dict(type=f"{kind}Discriminator", input_scale=128, base_channels=base, **style))


# key counts from MMagic's definitions. BigGAN (ajbrock: an SN conv has weight, bias, u0, sv0): generator
# noise2feat 4 + shared embedding 1 + 5 blocks × (shortcut 4 + 2 CBN × (gain 3 + bias 3 + BN statistics 3) + 2
# convs × 4) + attention 13 + output layer 9 = 177; discriminator 5 down-sampling blocks × 12 + last block 8
# + attention 13 + decision 4 + proj_y 3 = 88. BigGAN-deep (torch: weight_orig, weight_u, weight_v (+ bias)):
# generator 5 + 10 blocks × (4 CBN × 9 + 4 convs × 4) + 13 + 9 = 547; discriminator input conv 4 + 4 widening
# blocks × 20 + 6 × 16 + 13 + 4 + 3 = 200; plus mgx's train_iter and noise_seed
@pytest.mark.parametrize("deep, recorded, count", [(False, BIGGAN_128, 177 + 88 + 2), (True, DEEP_128, 547 + 200 + 2)])
def test_biggan_networks_have_mmagics_keys(deep, recorded, count):
    model = build(biggan_128(deep), "model")
    state = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    for key, shape in recorded.items():
        assert state[key] == shape, key
    assert len(state) == count
    images = model.sample(2, labels=torch.tensor([0, 4]))
    assert images.shape == (2, 3, 128, 128) and model.discriminator(images, label=torch.tensor([0, 4])).shape == (2, 1)
    mmagic = {k: v for k, v in model.state_dict().items() if k not in ("train_iter", "noise_seed")}
    load_model_weights(build(biggan_128(deep), "model"), mmagic, "biggan_mmagic.pth")


def test_hierarchical_latents_feed_one_chunk_per_block():
    torch.manual_seed(0)
    generator = build(dict(type="BigGANGenerator", output_scale=32, noise_size=13, num_classes=3, base_channels=2,
                           shared_dim=4), "model").eval()
    assert generator.noise_size == 12 and generator.noise_chunk_size == 3  # 4 slots: input + 3 blocks
    noise, label = torch.randn(1, 12), torch.tensor([1])
    changed = noise.clone()
    changed[0, 9:] += 1.0  # the last block's chunk only
    assert not torch.allclose(generator(noise, label), generator(changed, label))
    assert torch.equal(generator(noise, label, truncation=0.5), generator(noise.clamp(-0.5, 0.5), label))
    with pytest.raises(ConfigError, match="split_noise needs with_shared_embedding"):
        build(dict(type="BigGANGenerator", output_scale=32, num_classes=3, with_shared_embedding=False), "model")
    with pytest.raises(ConfigError, match="ortho_reg_weight"):
        build({**biggan_128(), "loss_config": dict(ortho_reg=1)}, "model")


def cli_options(data, tmp_path):
    options = loader_options(data) + ["model.generator.base_channels=2", "model.discriminator.base_channels=2",
                                      "model.ema_config.start_iter=1", "model.discriminator_steps=2",
                                      "model.loss_config=dict(ortho_reg_weight=0.0001)"]
    options += tiny_metric_options(tmp_path, {"val_evaluator": (0, 1), "test_evaluator": (0, 1)})
    return options + [f"{e}.metrics.0.real_nums=2" for e in ("val_evaluator", "test_evaluator")]


def test_mmagic_cifar10_config_trains_resumes_and_tests_through_the_cli(tmp_path, monkeypatch):
    data = write_cifar10_layout(tmp_path / "data", count=2)
    options = cli_options(data, tmp_path) + ["train_cfg.max_iters=4", "default_hooks.checkpoint.interval=2",
                                             "train_cfg.val_interval=4"]
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    run_ok(["run", "train", str(CONFIG), "--work-dir", str(straight), "--no-track", "--deterministic",
            "--cfg-options", *options], tmp_path, monkeypatch)
    assert list((straight / "samples").glob("*.png"))
    resumed.mkdir()
    (resumed / "iter_2.pth").write_bytes((straight / "iter_2.pth").read_bytes())
    run_ok(["run", "train", str(CONFIG), "--work-dir", str(resumed), "--no-track", "--deterministic",
            "--resume", str(resumed / "iter_2.pth"), "--cfg-options", *options], tmp_path, monkeypatch)
    expected = torch.load(straight / "iter_4.pth", weights_only=True)["model"]
    final = torch.load(resumed / "iter_4.pth", weights_only=True)["model"]
    assert int(final["generator_ema.steps"]) == 2  # generator phases at iterations 2 and 4
    for key, value in expected.items():
        assert torch.equal(final[key], value), key
    metrics = evaluate_checkpoint(CONFIG, straight / "iter_4.pth", tmp_path / "t1", options, monkeypatch)
    assert {"FID-Full-50k/fid", "IS-50k/is"} <= set(metrics)


@pytest.mark.slow  # two worker processes start (about 20 s on 2 busy cores)
def test_two_process_evaluation_equals_one_process(tmp_path, monkeypatch):
    data = write_cifar10_layout(tmp_path / "data", count=2)
    options = cli_options(data, tmp_path) + ["test_dataloader.batch_size=1"]
    options += [f"test_evaluator.metrics.{i}.fake_nums=4" for i in (0, 1)]
    torch.manual_seed(0)
    model = build(dict(type="BigGAN", num_classes=10, ema_config=dict(momentum=0.001),
                       generator=dict(type="BigGANGenerator", output_scale=32, noise_size=128, base_channels=2,
                                      with_shared_embedding=False, sn_eps=1e-8, sn_style="torch",
                                      split_noise=False, init_cfg=dict(type="N02")),
                       discriminator=dict(type="BigGANDiscriminator", input_scale=32, base_channels=2, sn_eps=1e-8,
                                          sn_style="torch", init_cfg=dict(type="N02"))), "model")
    torch.save({"model": model.state_dict()}, tmp_path / "weights.pth")
    results = {name: evaluate_checkpoint(CONFIG, tmp_path / "weights.pth", tmp_path / name, options, monkeypatch,
                                         launch) for name, launch in (("one", ()), ("two", ("--launcher", "dist",
                                                                                            "--gpus", "2")))}
    assert "2 process(es)" in "".join(path.read_text() for path in (tmp_path / "two").glob("*.log"))
    assert set(results["one"]) == set(results["two"]) and "FID-Full-50k/fid" in results["one"]
    for key, value in results["one"].items():  # only the order of the float32 feature sums differs
        assert results["two"][key] == pytest.approx(value, rel=1e-5, abs=1e-7), key
