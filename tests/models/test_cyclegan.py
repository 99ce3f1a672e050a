"""CycleGAN with MMagic 1.2.0's ResnetGenerator / PatchDiscriminator and image pools (read off its
cyclegan.py, cyclegan_generator.py, cyclegan_modules.py): layout and keys, pool semantics, losses,
checkpoints, MMagic's facades config through the CLI, bit-exact resume, 2 processes = 1 in evaluation."""
import numpy as np
import pytest
import torch
from torch.nn import functional as F

from mgx.core.engine.checkpoint import load_model_weights
from mgx.core.engine.optim import build_optim_wrappers
from mgx.core.errors import ConfigError
from mgx.core.registry import build

from gan_zoo_helpers import (CONFIGS, evaluate_checkpoint, loader_options, run_ok, tiny_metric_options,
                             write_unpaired_layout)

CPU = torch.device("cpu")
ADAM = dict(optimizer=dict(type="Adam", lr=2e-4, betas=(0.5, 0.999)))
CONFIG = CONFIGS / "cyclegan" / "cyclegan_lsgan-resnet-in_1xb1-80kiters_facades.py"


def tiny(**extra):
    return dict(type="CycleGAN", data_preprocessor=dict(type="DataPreprocessor"),
                generator=dict(type="ResnetGenerator", in_channels=3, out_channels=3, base_channels=2,
                               norm_cfg=dict(type="IN"), use_dropout=False, num_blocks=1, padding_mode="reflect"),
                discriminator=dict(type="PatchDiscriminator", in_channels=3, base_channels=2, num_conv=2,
                                   norm_cfg=dict(type="IN")),
                default_domain="photo", reachable_domains=["photo", "mask"], related_domains=["photo", "mask"],
                **extra)


def batch(count=2, size=16):
    gen = torch.Generator().manual_seed(3)
    return {"inputs": {f"img_{d}": torch.randint(0, 256, (count, 3, size, size), dtype=torch.uint8, generator=gen)
                       for d in ("photo", "mask")}}


def test_published_sizes_match_mmagic():
    # MMagic's base_cyclegan networks are the original CycleGAN's resnet_9blocks and basic PatchGAN:
    # 11.378 M and 2.765 M parameters as the original code prints them
    generator = build(dict(type="ResnetGenerator", in_channels=3, out_channels=3), "model")
    discriminator = build(dict(type="PatchDiscriminator", in_channels=3, norm_cfg=dict(type="IN")), "model")
    assert round(sum(p.numel() for p in generator.parameters()) / 1e6, 3) == 11.378
    assert round(sum(p.numel() for p in discriminator.parameters()) / 1e6, 3) == 2.765


# (key, shape) of MMagic's ResnetGenerator(base_channels=2, num_blocks=1, IN) and PatchDiscriminator(in 3,
# base 2, num_conv=2, IN), read off its modules: IN has no affine parameters, so every conv has a bias
MMAGIC_GENERATOR = {
    "model.0.conv.weight": (2, 3, 7, 7), "model.0.conv.bias": (2,), "model.1.conv.weight": (4, 2, 3, 3),
    "model.2.conv.weight": (8, 4, 3, 3), "model.3.block.0.conv.weight": (8, 8, 3, 3),
    "model.3.block.1.conv.bias": (8,), "model.4.conv.weight": (8, 4, 3, 3), "model.5.conv.weight": (4, 2, 3, 3),
    "model.6.conv.weight": (3, 2, 7, 7), "model.6.conv.bias": (3,),
}
MMAGIC_DISCRIMINATOR = {"model.0.conv.weight": (2, 3, 4, 4), "model.1.conv.bias": (4,),
                        "model.2.conv.weight": (8, 4, 4, 4), "model.3.weight": (1, 8, 4, 4), "model.3.bias": (1,)}


def test_keys_and_shapes_are_mmagics_and_mmagic_checkpoints_load():
    model = build(tiny(), "model")
    state = model.state_dict()
    for domain in ("photo", "mask"):
        for prefix, recorded in (("generators", MMAGIC_GENERATOR), ("discriminators", MMAGIC_DISCRIMINATOR)):
            for key, shape in recorded.items():
                assert tuple(state[f"{prefix}.{domain}.{key}"].shape) == shape, key
        assert len([k for k in state if k.startswith(f"generators.{domain}.")]) == 7 * 2 + 2
    # MMagic keeps the image pools out of its state dict: its checkpoints have only the networks
    networks = {k: torch.randn(v.shape) for k, v in state.items() if not k.startswith("image_buffers.")}
    fresh = build(tiny(), "model")
    load_model_weights(fresh, {"state_dict": networks}["state_dict"], "mmagic.pth")
    assert torch.equal(fresh.generators["mask"].model[6].conv.weight, networks["generators.mask.model.6.conv.weight"])
    assert fresh.image_buffers["photo"].stored == 0


def test_image_pool_is_mmagics():
    pool = build(tiny(buffer_size=3), "model").image_buffers["photo"]
    first = torch.arange(2 * 3 * 2 * 2, dtype=torch.float32).view(2, 3, 2, 2)
    assert torch.equal(pool.query(first), first) and pool.stored == 2
    second = first + 100
    out = pool.query(second)  # one more fills the pool; the next is swapped with probability 0.5
    assert torch.equal(out[0], second[0]) and pool.stored == 3
    np.random.seed(0)
    draws = np.random.random(), np.random.randint(0, 3)
    np.random.seed(0)
    pool_before = pool.images.clone()
    out = pool.query(second[1:] + 1)
    if draws[0] < 0.5:
        assert torch.equal(out[0], pool_before[draws[1]]) and torch.equal(pool.images[draws[1]], second[1] + 1)
    else:
        assert torch.equal(out[0], second[1] + 1)
    assert torch.equal(build(tiny(buffer_size=0), "model").image_buffers["mask"].query(first), first)


def test_train_step_losses_follow_the_definition():
    torch.manual_seed(0)
    model = build(tiny(loss_config=dict(cycle_loss_weight=10.0, id_loss_weight=0.5)), "model")
    optim = build_optim_wrappers(dict(generators=ADAM, discriminators=ADAM), model, device=CPU, amp=False)
    data = batch()
    real = {d: data["inputs"][f"img_{d}"].float() / 127.5 - 1 for d in ("photo", "mask")}
    with torch.no_grad():  # the generator losses at the initial weights, from the definition
        gens, discs = model.generators, model.discriminators
        fake = {"photo": gens["photo"](real["mask"]), "mask": gens["mask"](real["photo"])}
        cycle = {"mask": gens["mask"](fake["photo"]), "photo": gens["photo"](fake["mask"])}
        expected_cycle = 10 * sum(F.l1_loss(cycle[d], real[d]) for d in real)
        expected_id = 0.5 * sum(F.l1_loss(gens[d](real[d]), real[d]) for d in real)
        fake_logits = discs["photo"](fake["photo"])
        expected_gan_d_photo = 0.5 * (fake_logits.square().mean() + (discs["photo"](real["photo"]) - 1).square().mean())
    losses = model.train_step(data, optim)
    assert set(losses) == {"loss_gan_d_photo", "loss_gan_d_mask", "loss_gan_g_photo", "loss_gan_g_mask",
                           "cycle_loss", "id_loss"}
    assert torch.allclose(losses["cycle_loss"], expected_cycle, rtol=1e-5)
    assert torch.allclose(losses["id_loss"], expected_id, rtol=1e-5)
    assert torch.allclose(losses["loss_gan_d_photo"], expected_gan_d_photo, rtol=1e-5)
    no_id = build(tiny(loss_config=dict(cycle_loss_weight=10.0, id_loss_weight=0.0)), "model")
    optim = build_optim_wrappers(dict(generators=ADAM, discriminators=ADAM), no_id, device=CPU, amp=False)
    assert "id_loss" not in no_id.train_step(batch(), optim)
    no_id.eval()
    out = no_id.val_step(batch())
    assert set(out) == {"fake_photo", "fake_mask"} and out["fake_mask"].shape == (2, 3, 16, 16)
    assert len(no_id.grid_columns(batch(), out)) == 4


@pytest.mark.parametrize("change, message", [
    (dict(loss_config=dict(cycle_loss_weight=10.0)), "missing \\['id_loss_weight'\\]"),
    (dict(reachable_domains=["photo"]), "two domains"),
    (dict(buffer_size=-1), "buffer_size"),
    (dict(discriminator=dict(type="DCGANDiscriminator", input_scale=16, output_scale=4, out_channels=1)),
     "discriminator must be"),
])
def test_config_errors(change, message):
    with pytest.raises(ConfigError, match=message):
        build({**tiny(), **change}, "model")


def cli_options(data, tmp_path):
    options = loader_options(data)
    options += ["model.generator.base_channels=2", "model.generator.num_blocks=1",
                "model.discriminator.base_channels=2",
                "train_dataloader.dataset.pipeline.2.transforms.0.scale=(36,36)",
                "train_dataloader.dataset.pipeline.2.transforms.1.crop_size=(32,32)",
                "val_dataloader.dataset.pipeline.2.transforms.scale=(32,32)",
                "test_dataloader.dataset.pipeline.2.transforms.scale=(32,32)"]
    return options + tiny_metric_options(tmp_path)


def test_mmagic_facades_config_trains_resumes_and_tests_through_the_cli(tmp_path, monkeypatch):
    data = write_unpaired_layout(tmp_path / "facades", size=32)
    # a 2-image pool fills in the first iteration, so the resumed run must also restore its images and draws
    options = cli_options(data, tmp_path) + ["model.buffer_size=2", "train_cfg.max_iters=4",
                                             "default_hooks.checkpoint.interval=2", "train_cfg.val_interval=4"]
    straight = tmp_path / "straight"
    run_ok(["run", "train", str(CONFIG), "--work-dir", str(straight), "--no-track", "--deterministic",
            "--cfg-options", *options], tmp_path, monkeypatch)
    assert list((straight / "samples").glob("*.png"))
    resumed = tmp_path / "resumed"
    resumed.mkdir()
    (resumed / "iter_2.pth").write_bytes((straight / "iter_2.pth").read_bytes())
    run_ok(["run", "train", str(CONFIG), "--work-dir", str(resumed), "--no-track", "--deterministic",
            "--resume", str(resumed / "iter_2.pth"), "--cfg-options", *options], tmp_path, monkeypatch)
    expected = torch.load(straight / "iter_4.pth", weights_only=True)
    final = torch.load(resumed / "iter_4.pth", weights_only=True)
    assert final["model"]["image_buffers.photo.images"].shape[0] == 2
    for key, value in expected["model"].items():
        assert torch.equal(final["model"][key], value), key
    metrics = evaluate_checkpoint(CONFIG, straight / "iter_4.pth", tmp_path / "t1", options, monkeypatch)
    assert {"FID-Full/fid", "IS-Full/is"} <= set(metrics)


@pytest.mark.slow  # two worker processes start (about 20 s on 2 busy cores)
def test_two_process_evaluation_equals_one_process(tmp_path, monkeypatch):
    data = write_unpaired_layout(tmp_path / "facades", size=32, counts={"trainA": 1, "trainB": 1, "testA": 4,
                                                                         "testB": 3})
    options = cli_options(data, tmp_path) + ["test_dataloader.batch_size=1", "test_evaluator.metrics.0.fake_nums=4",
                                             "test_evaluator.metrics.1.fake_nums=4"]
    torch.manual_seed(0)  # the config's networks at the widths cli_options sets
    weights = build({**tiny(), "discriminator": {**tiny()["discriminator"], "num_conv": 3}}, "model").state_dict()
    torch.save({"model": weights}, tmp_path / "weights.pth")
    results = {name: evaluate_checkpoint(CONFIG, tmp_path / "weights.pth", tmp_path / name, options, monkeypatch,
                                         launch) for name, launch in (("one", ()), ("two", ("--launcher", "dist", "--gpus", "2")))}
    assert "2 process(es)" in "".join(path.read_text() for path in (tmp_path / "two").glob("*.log"))
    assert set(results["one"]) == set(results["two"]) and "FID-Full/fid" in results["one"]
    for key, value in results["one"].items():  # only the order of the float32 feature sums differs
        assert results["two"][key] == pytest.approx(value, rel=1e-5, abs=1e-7), key
