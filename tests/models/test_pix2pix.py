"""Pix2Pix with MMagic 1.2.0's UnetGenerator / PatchDiscriminator: layout and keys (read off MMagic's
pix2pix_modules.py, pix2pix_generator.py and archs/patch_disc.py), losses, schedule, checkpoints and
MMagic's facades config through the CLI."""
import pytest
import torch
from torch.nn import functional as F

from mgx.core.engine.checkpoint import load_model_weights, weights_of
from mgx.core.engine.optim import build_optim_wrappers
from mgx.core.errors import ConfigError
from mgx.core.registry import build

from gan_zoo_helpers import CONFIGS, loader_options, tiny_metric_options, train_and_test, write_paired_layout

CPU = torch.device("cpu")
ADAM = dict(optimizer=dict(type="Adam", lr=2e-4, betas=(0.5, 0.999)))


def tiny(**extra):
    return dict(type="Pix2Pix", data_preprocessor=dict(type="DataPreprocessor"),
                generator=dict(type="UnetGenerator", in_channels=3, out_channels=3, num_down=5, base_channels=2,
                               norm_cfg=dict(type="BN"), use_dropout=True, init_cfg=dict(type="normal", gain=0.02)),
                discriminator=dict(type="PatchDiscriminator", in_channels=6, base_channels=2, num_conv=3,
                                   norm_cfg=dict(type="BN"), init_cfg=dict(type="normal", gain=0.02)),
                loss_config=dict(pixel_loss_weight=100.0), default_domain="photo", reachable_domains=["photo"],
                related_domains=["photo", "mask"], **extra)


def batch(size=32, count=2):
    images = torch.randint(0, 256, (count, 3, size, size), dtype=torch.uint8)
    return {"inputs": {"img_photo": images, "img_mask": 255 - images}}


def test_published_sizes_match_mmagic():
    # MMagic's base_pix2pix networks are the original pix2pix's: unet_256 and the 6-channel basic PatchGAN,
    # 54.414 M and 2.769 M parameters as the original code prints them
    generator = build(dict(type="UnetGenerator", in_channels=3, out_channels=3, num_down=8, base_channels=64,
                           norm_cfg=dict(type="BN"), use_dropout=True), "model")
    discriminator = build(dict(type="PatchDiscriminator", in_channels=6, base_channels=64, num_conv=3,
                               norm_cfg=dict(type="BN")), "model")
    assert round(sum(p.numel() for p in generator.parameters()) / 1e6, 3) == 54.414
    assert round(sum(p.numel() for p in discriminator.parameters()) / 1e6, 3) == 2.769


# (key, shape) of MMagic's UnetGenerator(num_down=5, base_channels=2, BN) and PatchDiscriminator(in 6, base 2,
# num_conv=3, BN), read off its modules (ConvModule names conv/bn; deconv weights are in×out×k×k; the
# BN convs have no bias; the outermost up-conv has one)
MMAGIC_GENERATOR = {
    "model.model.0.conv.weight": (2, 3, 4, 4),
    "model.model.1.model.0.conv.weight": (4, 2, 4, 4), "model.model.1.model.0.bn.weight": (4,),
    "model.model.1.model.1.model.0.conv.weight": (8, 4, 4, 4),
    "model.model.1.model.1.model.1.model.0.conv.weight": (16, 8, 4, 4),
    "model.model.1.model.1.model.1.model.1.model.0.conv.weight": (16, 16, 4, 4),
    "model.model.1.model.1.model.1.model.1.model.1.conv.weight": (16, 16, 4, 4),
    "model.model.1.model.1.model.1.model.1.model.1.bn.running_mean": (16,),
    "model.model.1.model.1.model.1.model.2.conv.weight": (32, 8, 4, 4),
    "model.model.1.model.1.model.2.conv.weight": (16, 4, 4, 4),
    "model.model.1.model.2.conv.weight": (8, 2, 4, 4), "model.model.1.model.2.bn.bias": (2,),
    "model.model.2.conv.weight": (4, 3, 4, 4), "model.model.2.conv.bias": (3,),
}
MMAGIC_DISCRIMINATOR = {
    "model.0.conv.weight": (2, 6, 4, 4), "model.0.conv.bias": (2,),
    "model.1.conv.weight": (4, 2, 4, 4), "model.1.bn.weight": (4,), "model.1.bn.num_batches_tracked": (),
    "model.2.conv.weight": (8, 4, 4, 4), "model.3.conv.weight": (16, 8, 4, 4), "model.3.bn.running_var": (16,),
    "model.4.weight": (1, 16, 4, 4), "model.4.bias": (1,),
}


def mmagic_checkpoint(model):
    """An MMagic-style checkpoint: mmengine's wrapper, the model's keys, MMagic's shapes, new values."""
    state = {key: torch.randn(value.shape) if value.is_floating_point() else value.clone()
             for key, value in model.state_dict().items()}
    return {"meta": {"mmagic_version": "1.2.0"}, "state_dict": state}


def test_keys_and_shapes_are_mmagics_and_checkpoints_load():
    model = build(tiny(), "model")
    shapes = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    for prefix, recorded in (("generators.photo.", MMAGIC_GENERATOR), ("discriminators.photo.", MMAGIC_DISCRIMINATOR)):
        for key, shape in recorded.items():
            assert shapes[prefix + key] == shape, key
    assert "generators.photo.model.model.1.model.0.conv.bias" not in shapes  # BN: no conv bias
    # conv0 weight and bias, three conv + BN (5 entries), the last conv's weight and bias
    assert len([k for k in shapes if k.startswith("discriminators.")]) == 2 + 3 * 6 + 2
    # outermost: down conv, up conv + bias; innermost: two convs + one BN; three blocks of two convs + two BNs
    assert len([k for k in shapes if k.startswith("generators.")]) == 3 + 7 + 3 * 12
    checkpoint = mmagic_checkpoint(model)
    fresh = build(tiny(), "model")
    load_model_weights(fresh, weights_of(checkpoint), "mmagic.pth")  # what load_from does
    assert torch.equal(fresh.generators["photo"].model.model[0].conv.weight,
                       checkpoint["state_dict"]["generators.photo.model.model.0.conv.weight"])
    with pytest.raises(ConfigError, match="missing keys"):
        load_model_weights(fresh, {k: v for k, v in checkpoint["state_dict"].items() if "model.4" not in k}, "x")


def test_skip_connection_carries_the_activated_input():
    # MMCV's in-place LeakyReLU (order act-conv-norm) rewrites the block input before the concatenation,
    # as the original pix2pix code does
    block = build(tiny(), "model").generators["photo"].model.model[1]
    x = torch.randn(2, 2, 16, 16)
    out = block(x.clone())
    assert torch.equal(out[:, :2], F.leaky_relu(x, 0.2))


def test_initialisation_is_mmagics():
    torch.manual_seed(0)
    generator = build(dict(type="UnetGenerator", in_channels=3, out_channels=3, num_down=6, base_channels=16),
                      "model")
    conv = generator.model.model[1].model[0].conv.weight.detach()
    bn = generator.model.model[1].model[0].bn.weight.detach()
    assert abs(float(conv.std()) - 0.02) < 0.002 and abs(float(bn.mean()) - 1.0) < 0.01
    assert abs(float(bn.std()) - 0.02) < 0.01 and float(generator.model.model[2].conv.bias.detach().abs().max()) == 0


def test_train_step_losses_and_val_step():
    torch.manual_seed(0)
    model = build(tiny(), "model")
    optim = build_optim_wrappers(dict(generators=ADAM, discriminators=ADAM), model, device=CPU, amp=False)
    before = model.generators["photo"].model.model[0].conv.weight.detach().clone()
    losses = model.train_step(batch(), optim)
    assert set(losses) == {"loss_gan_d_fake", "loss_gan_d_real", "loss_gan_g", "loss_pixel"}
    assert all(torch.isfinite(v) for v in losses.values()) and float(losses["loss_pixel"]) > 10
    assert not torch.equal(before, model.generators["photo"].model.model[0].conv.weight)
    assert all(p.requires_grad for p in model.discriminators.parameters())
    model.eval()
    out = model.val_step(batch())
    assert set(out) == {"fake_photo"} and out["fake_photo"].shape == (2, 3, 32, 32)
    assert out["fake_photo"].min() >= 0 and out["fake_photo"].max() <= 255
    assert not model.generators["photo"].training  # MMagic's test-time train mode is undone
    columns = model.grid_columns(batch(), out)
    assert [tuple(c.shape) for c in columns] == [(2, 3, 32, 32)] * 3


def test_discriminator_steps_and_init_steps():
    model = build(tiny(discriminator_steps=2, disc_init_steps=2), "model")
    optim = build_optim_wrappers(dict(generators=ADAM, discriminators=ADAM), model, device=CPU, amp=False)
    phases = ["loss_gan_g" in model.train_step(batch(), optim) for _ in range(6)]
    assert phases == [False, False, False, True, False, True] and int(model.train_iter) == 6
    assert "train_iter" not in build(tiny(), "model").state_dict()


@pytest.mark.parametrize("change, message", [
    (dict(default_domain="edges"), "default_domain='edges' must be one of"),
    (dict(related_domains=["mask"]), "must all be in related_domains"),
    (dict(generator=dict(type="ResnetGenerator", in_channels=3, out_channels=3)), "generator must be"),
    (dict(loss_config=dict(pixel_weight=1.0)), "pixel_loss_weight"),
    (dict(discriminator_steps=0), "discriminator_steps must be"),
])
def test_config_errors(change, message):
    with pytest.raises(ConfigError, match=message):
        build({**tiny(), **change}, "model")


def test_mmagic_facades_config_trains_and_tests_through_the_cli(tmp_path, monkeypatch):
    data = write_paired_layout(tmp_path / "facades")
    config = CONFIGS / "pix2pix" / "pix2pix_vanilla-unet-bn_1xb1-80kiters_facades.py"
    options = loader_options(data)
    options += ["train_cfg.max_iters=2", "model.generator.base_channels=2", "model.generator.num_down=5",
                "model.discriminator.base_channels=2", "train_dataloader.dataset.pipeline.1.scale=(36,36)",
                "train_dataloader.dataset.pipeline.2.crop_size=(32,32)",
                "val_dataloader.dataset.pipeline.1.transforms.0.scale=(32,32)",
                "test_dataloader.dataset.pipeline.1.transforms.0.scale=(32,32)"]
    options += tiny_metric_options(tmp_path)
    assert {"FID-Full/fid", "IS-Full/is"} <= set(train_and_test(config, tmp_path, options, monkeypatch))
