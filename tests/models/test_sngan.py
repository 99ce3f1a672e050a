"""SNGAN-Proj: spectral norm in MMagic's two styles against float64 computations of one power iteration,
MMagic's SNGANGenerator / ProjDiscriminator keys (read off sagan_generator.py, sagan_discriminator.py,
sagan_modules.py), class labels in sampling and metrics, CIFAR-10 data, and MMagic's CIFAR-10 config
through the CLI."""
import pytest
import torch
from torch.nn import functional as F

from mgx.core.engine.checkpoint import load_model_weights
from mgx.core.errors import ConfigError
from mgx.core.evaluation import MetricContext
from mgx.core.registry import build
from mgx.plugins.data.conditional_datasets import CIFAR10, BasicConditionalDataset
from mgx.plugins.models.ops.spectral_norm import SNConvModule

from gan_zoo_helpers import (CONFIGS, loader_options, tiny_metric_options, train_and_test, write_cifar10_layout,
                             write_class_folders)


def _normalize(vector, eps):
    return vector / max(float(vector.norm()), eps)


def _sn_conv(style, eps, scale=1.0):
    torch.manual_seed(0)
    module = SNConvModule(3, 4, kernel_size=3, padding=1, act_cfg=None, with_spectral_norm=True,
                          spectral_norm_cfg=dict(eps=eps, sn_style=style))
    with torch.no_grad():
        weight = module.conv.weight_orig if style == "torch" else module.conv.weight
        weight.mul_(scale)
    return module, weight


@pytest.mark.parametrize("scale, eps", [(1.0, 1e-6), (1e-9, 1e-6)])
def test_torch_style_is_one_power_iteration_with_mmagics_eps(scale, eps):
    module, weight = _sn_conv("torch", eps, scale)
    matrix = weight.detach().double().reshape(4, -1)
    u0 = module.conv.weight_u.detach().double()
    v = _normalize(matrix.t() @ u0, eps)  # torch's order: v from u, then u from v
    u = _normalize(matrix @ v, eps)
    sigma = u @ matrix @ v
    x = torch.randn(2, 3, 5, 5, dtype=torch.float64)
    expected = F.conv2d(x, weight.detach().double() / sigma, module.conv.bias.detach().double(), padding=1)
    out = module.train()(x.float())
    assert torch.allclose(out.double(), expected, rtol=1e-4, atol=1e-5 * float(expected.abs().max()))
    assert torch.allclose(module.conv.weight_u.double(), u, atol=1e-5)
    assert torch.allclose(module.conv.weight_v.double(), v, atol=1e-5)
    stored = module.conv.weight_u.clone()
    module.eval()(x.float())
    assert torch.equal(module.conv.weight_u, stored)  # eval: no power iteration


def test_ajbrock_style_stores_sigma_and_keeps_its_gradient_out():
    eps = 1e-6
    module, weight = _sn_conv("ajbrock", eps)
    assert set(module.state_dict()) == {"conv.weight", "conv.bias", "conv.u0", "conv.sv0"}
    matrix = weight.detach().double().reshape(4, -1)
    u0 = module.conv.u0.detach().double()[0]
    v = _normalize(u0 @ matrix, eps)
    u = _normalize(v @ matrix.t(), eps)
    sigma = float(v @ matrix.t() @ u)
    x = torch.randn(2, 3, 5, 5, dtype=torch.float64)
    reference = weight.detach().double().requires_grad_(True)
    expected = F.conv2d(x, reference / sigma, module.conv.bias.detach().double(), padding=1)
    expected.sum().backward()  # σ a constant: the gradient does not flow through it
    module.train()(x.float()).sum().backward()
    assert torch.allclose(module.conv.u0.double()[0], u, atol=1e-5)
    assert abs(float(module.conv.sv0) - sigma) < 1e-5 * sigma
    assert torch.allclose(weight.grad.double(), reference.grad, rtol=1e-4, atol=1e-5)


def test_torch_style_gradient_flows_through_sigma():
    module, weight = _sn_conv("torch", 1e-12)
    u0 = module.conv.weight_u.detach().double()
    reference = weight.detach().double().requires_grad_(True)
    matrix = reference.reshape(4, -1)
    with torch.no_grad():
        v = _normalize(matrix.t() @ u0, 1e-12)
        u = _normalize(matrix @ v, 1e-12)
    x = torch.randn(2, 3, 5, 5, dtype=torch.float64)
    F.conv2d(x, reference / (u @ matrix @ v), padding=1).sum().backward()
    module.train()(x.float()).sum().backward()
    assert torch.allclose(weight.grad.double(), reference.grad, rtol=1e-4, atol=1e-5)


# MMagic's base_sngan_proj_32x32 networks (num_classes=10): the generator without spectral norm (its default),
# conditional BN without affine parameters, the discriminator spectrally normalised (torch style)
SNGAN_GENERATOR = {
    "noise2feat.weight": (4096, 128), "conv_blocks.0.conv_1.conv.weight": (256, 256, 3, 3),
    "conv_blocks.0.norm_1.norm.running_mean": (256,), "conv_blocks.0.norm_1.weight_embedding.weight": (10, 256),
    "conv_blocks.2.norm_2.bias_embedding.weight": (10, 256), "conv_blocks.2.shortcut.conv.weight": (256, 256, 1, 1),
    "to_rgb.bn.weight": (256,), "to_rgb.conv.weight": (3, 256, 3, 3), "to_rgb.conv.bias": (3,),
}
SNGAN_DISCRIMINATOR = {
    "from_rgb.conv_1.conv.weight_orig": (128, 3, 3, 3), "from_rgb.conv_1.conv.weight_u": (128,),
    "from_rgb.conv_1.conv.weight_v": (27,), "from_rgb.shortcut.conv.weight_orig": (128, 3, 1, 1),
    "conv_blocks.0.shortcut.conv.weight_orig": (128, 128, 1, 1), "conv_blocks.2.conv_2.conv.bias": (128,),
    "decision.weight_orig": (1, 128), "decision.bias": (1,), "proj_y.weight_orig": (10, 128),
    "proj_y.weight_u": (10,), "proj_y.weight_v": (128,),
}


def test_sngan_networks_have_mmagics_keys():
    generator = build(dict(type="SNGANGenerator", output_scale=32, base_channels=256, num_classes=10), "model")
    disc = build(dict(type="ProjDiscriminator", input_scale=32, base_channels=128, num_classes=10), "model")
    for network, recorded in ((generator, SNGAN_GENERATOR), (disc, SNGAN_DISCRIMINATOR)):
        state = {key: tuple(value.shape) for key, value in network.state_dict().items()}
        for key, shape in recorded.items():
            assert state[key] == shape, key
    # generator: noise2feat 2 + 3 upsampling blocks × (2 convs × 2 + 2 norms × (3 BN statistics + 2 embeddings)
    # + shortcut 2) + to_rgb 7 = 57. Discriminator (4 keys per SN conv): head 3 convs, block 0 (downsamples)
    # 3 convs, blocks 1, 2 (same width and scale: no shortcut) 2 convs each, decision 4, proj_y 3 = 47
    assert "conv_blocks.0.norm_1.norm.weight" not in generator.state_dict()
    assert not hasattr(disc.conv_blocks[1], "shortcut") and len(generator.state_dict()) == 57
    assert len(disc.state_dict()) == 47


def tiny_sngan(**extra):
    return {**dict(type="SNGAN", num_classes=3, generator=dict(type="SNGANGenerator", output_scale=32, base_channels=8),
                   discriminator=dict(type="ProjDiscriminator", input_scale=32, base_channels=8)), **extra}


def test_labels_condition_samples_and_metrics_draw_them_per_index():
    torch.manual_seed(0)
    model = build(tiny_sngan(), "model").eval()
    noise = torch.randn(2, 128).repeat(2, 1)
    images = model.sample(noise=noise, labels=torch.tensor([0, 0, 1, 2]))
    assert not torch.allclose(images[0], images[2])  # same noise, another class
    ctx = MetricContext(model=model, device=torch.device("cpu"), cache_dir=None, work_dir=None, seed=5)
    together = ctx.generate([0, 1, 2, 3], "orig")
    apart = torch.cat([ctx.generate([0, 1], "orig"), ctx.generate([2, 3], "orig")])
    assert torch.allclose(together, apart, atol=1e-4)
    assert ctx.labels(range(200), 3).unique().tolist() == [0, 1, 2]
    with pytest.raises(Exception, match="labels must be 2 class indices"):
        model.sample(noise=noise[:2], labels=torch.tensor([0, 3]))


def test_mmagic_weights_load_through_load_from():
    model = build(tiny_sngan(), "model")
    mmagic = {k: torch.randn(v.shape) if v.is_floating_point() else v for k, v in model.state_dict().items()
              if k not in ("train_iter", "noise_seed")}  # MMagic's keys: mgx's without its counter and seed
    fresh = build(tiny_sngan(ema_config=dict(momentum=0.001)), "model")
    load_model_weights(fresh, mmagic, "sngan_mmagic.pth")
    assert torch.equal(fresh.discriminator.proj_y.weight_orig, mmagic["discriminator.proj_y.weight_orig"])
    assert torch.equal(fresh.generator_ema.module.noise2feat.weight, mmagic["generator.noise2feat.weight"])


def test_conditional_datasets_and_their_errors(tmp_path):
    write_cifar10_layout(tmp_path / "c", count=3)
    cifar = CIFAR10(data_prefix="cifar10", data_root=str(tmp_path / "c"))
    sample = cifar[4]
    assert len(cifar) == 15 and sample["gt"].shape == (32, 32, 3) and 0 <= sample["gt_label"] < 10
    assert len(CIFAR10(data_prefix="cifar10", data_root=str(tmp_path / "c"), test_mode=True)) == 3
    with pytest.raises(ConfigError, match="lacks"):
        CIFAR10(data_prefix="nowhere", data_root=str(tmp_path))
    write_class_folders(tmp_path / "i", size=8, classes=2, per_class=2)
    listed = build(dict(type="ImageNet", data_root=str(tmp_path / "i"), ann_file="meta/train.txt",
                        data_prefix="train"), "dataset")
    folders = BasicConditionalDataset(data_root=str(tmp_path / "i"), data_prefix="train")
    assert [s[1] for s in listed.samples] == [s[1] for s in folders.samples] == [0, 0, 1, 1]
    assert folders.metainfo["classes"] == ("class0", "class1")
    (tmp_path / "i" / "bad.txt").write_text("class0/0.png zero\n")
    with pytest.raises(ConfigError, match="integer label"):
        BasicConditionalDataset(data_root=str(tmp_path / "i"), ann_file="bad.txt", data_prefix="train")
    with pytest.raises(ConfigError, match="num_classes differs"):
        build(tiny_sngan(generator=dict(type="SNGANGenerator", output_scale=32, num_classes=4)), "model")


def test_mmagic_cifar10_config_trains_and_tests_through_the_cli(tmp_path, monkeypatch):
    config = CONFIGS / "sngan_proj" / "sngan-proj_woReLUinplace_lr2e-4-ndisc5-1xb64_cifar10-32x32.py"
    data = write_cifar10_layout(tmp_path / "data")
    options = loader_options(data) + ["train_cfg.max_iters=2", "model.generator.base_channels=8",
                                      "model.discriminator.base_channels=8", "model.discriminator_steps=2"]
    options += tiny_metric_options(tmp_path, {"val_evaluator": (0, 1), "test_evaluator": (0, 1)})
    options += [f"{evaluator}.metrics.1.real_nums=2" for evaluator in ("val_evaluator", "test_evaluator")]
    metrics = train_and_test(config, tmp_path, options, monkeypatch)
    assert set(metrics) >= {"IS-50k/is", "FID-Full-50k/fid"}
    # the config's inception_pkl did not exist: computed from the real images and written there, as MMagic does
    assert (tmp_path / "work_dirs" / "inception_pkl" / "cifar10-full.pkl").is_file()
