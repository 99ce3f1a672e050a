"""SAGAN: the self-attention block against a float64 computation of its definition, MMagic's SAGAN
128×128 network layout and keys (read off sagan_generator.py / sagan_discriminator.py /
biggan_modules.py), the hinge losses, MMagic's in-place-ReLU shortcut, and MMagic's ImageNet config
through the CLI on class folders."""
import torch
from torch.nn import functional as F

from mgx.core.engine.optim import build_optim_wrappers
from mgx.core.registry import build
from mgx.plugins.models.ops.spectral_norm import SelfAttentionBlock
from mgx.plugins.models.sagan.modules import SNGANDiscResBlock

from gan_zoo_helpers import CONFIGS, loader_options, tiny_metric_options, train_and_test, write_class_folders

ADAM = dict(optimizer=dict(type="Adam", lr=1e-4, betas=(0.0, 0.999)))


def test_self_attention_matches_its_definition_in_float64():
    torch.manual_seed(0)
    block = SelfAttentionBlock(16, with_spectral_norm=False)
    with torch.no_grad():
        block.gamma.fill_(0.7)
    x = torch.randn(2, 16, 6, 4, dtype=torch.float64)
    weights = {name: getattr(block, name).conv.weight.detach().double() for name in ("theta", "phi", "g", "o")}
    theta = F.conv2d(x, weights["theta"]).reshape(2, 2, 24)
    phi = F.max_pool2d(F.conv2d(x, weights["phi"]), 2).reshape(2, 2, 6)
    g = F.max_pool2d(F.conv2d(x, weights["g"]), 2).reshape(2, 8, 6)
    scores = torch.einsum("nci,ncj->nij", theta, phi)  # query position i, pooled key position j
    attention = torch.exp(scores - scores.amax(-1, keepdim=True))
    attention = attention / attention.sum(-1, keepdim=True)
    mixed = torch.einsum("ncj,nij->nci", g, attention).reshape(2, 8, 6, 4)
    expected = x + 0.7 * F.conv2d(mixed, weights["o"])
    assert torch.allclose(block(x.float()).double(), expected, atol=1e-5)
    assert set(SelfAttentionBlock(16).state_dict()) == {
        "gamma", *(f"{n}.conv.{k}" for n in ("theta", "phi", "g", "o") for k in ("weight", "u0", "sv0"))}


def test_in_place_activation_feeds_the_shortcut_as_in_mmagic():
    torch.manual_seed(0)
    plain = SNGANDiscResBlock(4, 8, downsample=True, with_spectral_norm=False)
    inplace = SNGANDiscResBlock(4, 8, downsample=True, with_spectral_norm=False,
                                act_cfg=dict(type="ReLU", inplace=True))
    inplace.load_state_dict(plain.state_dict())
    x = torch.randn(2, 4, 8, 8)
    expected = plain(x) - plain.downsample(plain.shortcut(x)) + plain.downsample(plain.shortcut(F.relu(x)))
    assert torch.allclose(inplace(x.clone()), expected, atol=1e-6)


def tiny_sagan_128(base=8):
    # MMagic's base_sagan_128x128 layout (attention after generator block 4 and discriminator block 1),
    # widths divided by base 64 / base
    return dict(type="SAGAN", num_classes=5,
                generator=dict(type="SAGANGenerator", output_scale=128, base_channels=base,
                               attention_cfg=dict(type="SelfAttentionBlock"), attention_after_nth_block=4,
                               with_spectral_norm=True),
                discriminator=dict(type="ProjDiscriminator", input_scale=128, base_channels=base,
                                   attention_cfg=dict(type="SelfAttentionBlock"), attention_after_nth_block=1,
                                   with_spectral_norm=True))


SAGAN_GENERATOR = {  # base_channels=8: factors [16, 16, 8, 4, 2] -> 128, 128, 64, 32, 16, then 8
    "noise2feat.weight_orig": (2048, 128), "conv_blocks.0.norm_1.weight_embedding.weight_orig": (5, 128),
    "conv_blocks.0.norm_1.weight_embedding.weight_u": (5,), "conv_blocks.3.conv_2.conv.weight_orig": (16, 16, 3, 3),
    "conv_blocks.4.theta.conv.weight_orig": (2, 16, 1, 1), "conv_blocks.4.o.conv.weight_v": (8,),
    "conv_blocks.4.gamma": (), "conv_blocks.5.shortcut.conv.weight_orig": (8, 16, 1, 1),
    "to_rgb.conv.weight_orig": (3, 8, 3, 3), "to_rgb.bn.running_var": (8,),
}
SAGAN_DISCRIMINATOR = {  # factors [2, 4, 8, 16, 16] -> 16 ... 128
    "from_rgb.conv_1.conv.weight_orig": (8, 3, 3, 3), "conv_blocks.0.phi.conv.weight_orig": (1, 8, 1, 1),
    "conv_blocks.0.g.conv.weight_u": (4,), "conv_blocks.1.conv_1.conv.weight_orig": (16, 8, 3, 3),
    "conv_blocks.5.conv_2.conv.weight_orig": (128, 128, 3, 3), "decision.weight_orig": (1, 128),
    "proj_y.weight_orig": (5, 128),
}


def test_sagan_networks_have_mmagics_layout_and_keys():
    model = build(tiny_sagan_128(), "model")
    state = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    for prefix, recorded in (("generator.", SAGAN_GENERATOR), ("discriminator.", SAGAN_DISCRIMINATOR)):
        for key, shape in recorded.items():
            assert state[prefix + key] == shape, key
    assert model.generator.attention_block_idx == [4] and len(model.generator.conv_blocks) == 6
    assert not any(k.startswith("discriminator.conv_blocks.5.shortcut") for k in state)  # last block keeps size


def test_hinge_losses_follow_the_definition():
    torch.manual_seed(0)
    model = build(dict(type="SAGAN", num_classes=5,  # MMagic's base_sagan_32x32 at width 8
                       generator=dict(type="SAGANGenerator", output_scale=32, base_channels=8,
                                      attention_after_nth_block=2, with_spectral_norm=True),
                       discriminator=dict(type="ProjDiscriminator", input_scale=32, base_channels=8,
                                          attention_after_nth_block=1, with_spectral_norm=True)), "model")
    pred_fake, pred_real = torch.randn(6, 1), torch.randn(6, 1)
    terms = model.disc_loss_terms(pred_fake, pred_real)
    assert abs(float(terms["loss_disc_fake"]) - float(torch.clamp(1 + pred_fake.double(), min=0).mean())) < 1e-6
    assert abs(float(terms["loss_disc_real"]) - float(torch.clamp(1 - pred_real.double(), min=0).mean())) < 1e-6
    assert abs(float(model.gen_loss(pred_fake)["loss_gen"]) + float(pred_fake.double().mean())) < 1e-6
    optim = build_optim_wrappers(dict(generator=ADAM, discriminator=ADAM), model, device=torch.device("cpu"),
                                 amp=False)
    batch = {"gt_img": torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8), "gt_label": torch.tensor([0, 4])}
    before = model.generator.noise2feat.weight_orig.clone()
    losses = model.train_step(batch, optim)
    assert set(losses) == {"loss_disc", "loss_disc_fake", "loss_disc_real", "loss_gen"}
    assert not torch.equal(before, model.generator.noise2feat.weight_orig)


def test_mmagic_imagenet_config_trains_and_tests_through_the_cli(tmp_path, monkeypatch):
    config = CONFIGS / "sagan" / "sagan_woReLUinplace_Glr1e-4_Dlr4e-4_ndisc1-4xb64_imagenet1k-128x128.py"
    data = write_class_folders(tmp_path / "data")
    options = loader_options(data) + ["train_cfg.max_iters=2", "model.num_classes=3", "model.generator.num_classes=3",
                                      "model.discriminator.num_classes=3"]
    # MMagic's 128×128 layout at 32×32: the generator starts at 1×1, the discriminator's tables are given
    options += ["model.generator.output_scale=32", "model.generator.channels_cfg=[16,16,8,4,2]",
                "model.generator.input_scale=1", "model.generator.base_channels=4",
                "model.discriminator.input_scale=32",
                "model.discriminator.channels_cfg=[2,4,8,16,16]", "model.discriminator.base_channels=8",
                "model.discriminator.downsample_cfg=[True,True,True,True,False]"]
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        options.append(f"{loader}.dataset.pipeline.2.scale=(32,32)")
    options += tiny_metric_options(tmp_path, {"val_evaluator": (0, 1), "test_evaluator": (0, 1)})
    options += [f"{evaluator}.metrics.1.real_nums=2" for evaluator in ("val_evaluator", "test_evaluator")]
    metrics = train_and_test(config, tmp_path, options, monkeypatch)
    assert set(metrics) >= {"IS-50k/is", "FID-Full-50k/fid"}
