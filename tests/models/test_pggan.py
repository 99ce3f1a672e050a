"""PGGAN (MMagic's ProgressiveGrowingGAN): layers against float64 definitions, MMagic's parameter counts and
state-dict keys, the growing schedule, bit-exact save/load mid-transition, and the CLI on MMagic's config."""
from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from mgx.core.engine.optim import build_optim_wrappers
from mgx.core.errors import ConfigError
from mgx.plugins.models.ops.equalized_lr import (EqualizedConv, EqualizedLinear, equalized_scale,
                                                 minibatch_stddev, pixel_norm)
from mgx.plugins.models.pggan.fetch_data_hook import cut_batch
from mgx.plugins.models.pggan.model import ProgressiveGrowingGAN
from mgx.plugins.models.pggan.networks import PGGANDiscriminator, PGGANGenerator
from mgx.plugins.models.pggan.schedule import stage_of, transition_weight

from gan_zoo_helpers import CONFIGS, run_ok, write_image_folder


def _width(log_scale: int, base: int = 8192, maximum: int = 512) -> int:
    return min(int(base / 2.0 ** log_scale), maximum)


def mmagic_parameter_counts(scale: int, noise: int = 512) -> tuple[int, int]:
    """Counted from MMagic 1.2.0's pggan_generator.py / pggan_discriminator.py (default widths)."""
    top = int(math.log2(scale))
    gen = noise * _width(1) * 16 + _width(1) + _width(1) ** 2 * 9 + _width(1)  # noise2feat, 4 px conv
    disc = 0
    for s in range(2, top + 1):
        gen += _width(s - 1) * 3 + 3  # torgb
        disc += 3 * _width(s - 1) + _width(s - 1) + _width(s - 1) ** 2 * 9 + _width(s - 1)  # fromrgb, conv
        if s > 2:
            gen += _width(s - 2) * _width(s - 1) * 9 + _width(s - 1) + _width(s - 1) ** 2 * 9 + _width(s - 1)
            disc += _width(s - 1) * _width(s - 2) * 9 + _width(s - 2)  # fused down conv
    disc += (_width(1) * 16 + 16) * _width(0) + _width(0) + _width(0) + 1  # decision head, mbstd channel
    return gen, disc


@pytest.mark.parametrize("scale,expected", [(128, (22933394, 22944897))])  # 1024 px: 23079115, 23090833
def test_parameter_counts_are_mmagics(scale, expected):
    count = lambda module: sum(p.numel() for p in module.parameters())  # noqa: E731
    assert mmagic_parameter_counts(scale) == expected
    assert (count(PGGANGenerator(512, scale)), count(PGGANDiscriminator(scale))) == expected


def test_state_dict_keys_are_mmagics_and_a_mmagic_checkpoint_loads():
    gen, disc = PGGANGenerator(8, 16, base_channels=64, max_channels=8), PGGANDiscriminator(16, base_channels=64, max_channels=8)
    # MMagic's names: EqualizedLR keeps the raw weight as `weight_orig` on the conv/linear of each module
    assert set(gen.state_dict()) == {"noise2feat.bias", "noise2feat.linear.weight_orig", *(
        f"{kind}.{i}.conv.{p}" for kind, n in (("conv_blocks", 5), ("torgb_layers", 3)) for i in range(n)
        for p in ("weight_orig", "bias"))}
    assert set(disc.state_dict()) == {*(f"decision.linear{i}.{p}" for i in (0, 1) for p in ("weight_orig", "bias")),
                                      *(f"{kind}.{i}.conv.{p}" for kind, n in (("conv_blocks", 5), ("fromrgb_layers", 3))
                                        for i in range(n) for p in ("weight_orig", "bias"))}
    assert tuple(gen.conv_blocks[1].conv.weight_orig.shape) == (8, 8, 3, 3)  # ConvTranspose2d: in × out
    model = _tiny_model()
    mmagic = {f"generator.{k}": v for k, v in model.generator.state_dict().items()}
    mmagic.update({f"discriminator.{k}": v for k, v in model.discriminator.state_dict().items()})
    mmagic.update({f"generator_ema.module.{k}": v + 1 for k, v in model.generator.state_dict().items()})
    mmagic.update({"generator_ema.steps": torch.tensor(7), "shown_nkimg": torch.tensor(0.005),
                   "_curr_transition_weight": torch.tensor(0.5), "_next_scale_int": torch.tensor(16, dtype=torch.int32),
                   "_curr_scale_int": torch.tensor(16, dtype=torch.int32),
                   "data_preprocessor.mean": torch.full((1, 3, 1, 1), 127.5)})
    model.load_state_dict(model.adapt_loaded_weights(mmagic), strict=True)
    assert int(model._prev_stage) == 2 and float(model._stage_start_nkimg) == pytest.approx(0.004)


def test_equalized_layers_match_float64_definitions():
    torch.manual_seed(0)
    x = torch.randn(2, 4, 5, 5, dtype=torch.float64)
    conv = EqualizedConv(4, 3, 3, padding=1, gain=math.sqrt(2)).double()
    expected = F.conv2d(x, conv.weight_orig * math.sqrt(2) / math.sqrt(4 * 9), conv.bias, padding=1)
    torch.testing.assert_close(conv(x), expected, rtol=1e-12, atol=1e-12)
    # fused nearest-×2 up-sampling + 3×3 conv: MMagic's transposed conv, fan-in of its in×out weight (out·9)
    up = EqualizedConv(4, 3, 3, kind="deconv_fused_up").double()
    kernel = up.weight_orig.transpose(0, 1).flip(2, 3) * math.sqrt(2) / math.sqrt(3 * 9)
    naive = F.conv2d(F.interpolate(x, scale_factor=2, mode="nearest"), kernel, up.bias, padding=1)
    torch.testing.assert_close(up(x), naive, rtol=1e-10, atol=1e-10)
    down = EqualizedConv(4, 3, 3, kind="conv_fused_down").double()
    y = torch.randn(2, 4, 6, 6, dtype=torch.float64)
    naive = F.avg_pool2d(F.conv2d(y, down.weight_orig * down.scale, None, padding=1), 2) + down.bias[:, None, None]
    torch.testing.assert_close(down(y), naive, rtol=1e-10, atol=1e-10)
    linear = EqualizedLinear(6, 2, gain=1.0, lr_mul=0.01).double()
    assert equalized_scale((2, 6), 1.0, 0.01) == pytest.approx(0.01 / math.sqrt(6), rel=1e-15)
    assert linear.weight_orig.std().item() > 10  # drawn N(0, 1/lr_mul)


def test_pixel_norm_and_minibatch_stddev_match_float64_definitions():
    torch.manual_seed(1)
    x = torch.randn(8, 3, 2, 2, dtype=torch.float64)
    norm = torch.sqrt((x ** 2).sum(dim=1, keepdim=True) / 3)
    torch.testing.assert_close(pixel_norm(x), x / (norm + 1e-6), rtol=1e-12, atol=1e-12)
    out = minibatch_stddev(x, group_size=4)
    for j in range(2):  # groups: samples j, j + 2, j + 4, j + 6
        members = x[j::2]
        std = torch.sqrt(((members - members.mean(0)) ** 2).mean(0) + 1e-8).mean()
        assert torch.allclose(out[j::2, 3], std.expand(4, 2, 2), rtol=1e-12)
    with pytest.raises(ValueError, match="multiple"):
        minibatch_stddev(torch.zeros(6, 1, 2, 2))


def test_transition_blends_the_previous_scale():
    torch.manual_seed(2)
    gen = PGGANGenerator(8, 16, base_channels=64, max_channels=8).double()
    z = torch.randn(2, 8, dtype=torch.float64)
    at8 = gen(z, curr_scale=8)
    assert torch.allclose(gen(z, curr_scale=16, transition_weight=0.0), F.interpolate(at8, scale_factor=2))
    full = gen(z, curr_scale=16, transition_weight=1.0)
    blended = gen(z, curr_scale=16, transition_weight=0.25)
    torch.testing.assert_close(blended, 0.75 * F.interpolate(at8, scale_factor=2) + 0.25 * full)


def test_schedule_follows_nkimgs_per_scale():
    cumulative = [0.6, 1.8, 3.0]
    assert [stage_of(v, cumulative) for v in (0, 0.599, 0.6, 1.9, 99)] == [0, 0, 1, 2, 2]
    assert transition_weight(0, 0.3, 0, 0.6) == 1.0
    assert transition_weight(1, 0.9, 0.6, 0.6) == pytest.approx(0.5)
    assert transition_weight(1, 2.0, 0.6, 0.6) == 1.0


def _tiny_model(**overrides) -> ProgressiveGrowingGAN:
    from mgx.cli.context import plugin_manager

    plugin_manager()  # activates the registry
    cfg = dict(generator=dict(type="PGGANGenerator", out_scale=16, noise_size=8, base_channels=64, max_channels=8),
               discriminator=dict(type="PGGANDiscriminator", in_scale=16, base_channels=64, max_channels=8),
               nkimgs_per_scale={"4": 0.002, "8": 0.002, "16": 1}, transition_kimgs=0.008,
               ema_config=dict(interval=1))
    return ProgressiveGrowingGAN(**{**cfg, **overrides})


def _optim(model):
    return build_optim_wrappers(dict(
        constructor="PGGANOptimWrapperConstructor",
        generator=dict(optimizer=dict(type="Adam", lr=0.001, betas=(0.0, 0.99))),
        discriminator=dict(optimizer=dict(type="Adam", lr=0.001, betas=(0.0, 0.99))),
        lr_schedule=dict(generator={"16": 0.002}, discriminator={"16": 0.003})), model, device=torch.device("cpu"),
        amp=False)


def test_save_and_load_mid_transition_equals_uninterrupted_training():
    batch = {"inputs": torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8)}
    torch.manual_seed(3)
    model = _tiny_model()
    optim = _optim(model)
    assert optim["generator_16"].get_lr() == 0.002 and optim["discriminator_4"].get_lr() == 0.001
    for _ in range(4):
        model.train_step(dict(batch), optim)
    assert int(model._curr_scale_int) == 16 and 0 < float(model._curr_transition_weight) < 1  # mid-transition
    saved = ({k: v.clone() for k, v in model.state_dict().items()}, _copy(optim.state_dict()), torch.get_rng_state())
    logs = [model.train_step(dict(batch), optim) for _ in range(2)]
    torch.manual_seed(99)  # a fresh process: other initial weights, restored from the save
    resumed = _tiny_model()
    resumed_optim = _optim(resumed)
    resumed.load_state_dict(saved[0])
    resumed_optim.load_state_dict(saved[1])
    torch.set_rng_state(saved[2])
    resumed_logs = [resumed.train_step(dict(batch), resumed_optim) for _ in range(2)]
    assert [log["transition_weight"] for log in logs] == [log["transition_weight"] for log in resumed_logs]
    for key, value in model.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key


def _copy(state):
    import copy

    return copy.deepcopy(state)


def test_bad_configs_are_refused():
    with pytest.raises(ConfigError, match="increasing"):
        _tiny_model(nkimgs_per_scale={"8": 1, "4": 1})
    with pytest.raises(ConfigError, match="networks stop at 16"):
        _tiny_model(nkimgs_per_scale={"4": 1, "32": 1})
    with pytest.raises(ConfigError, match="reset_optim_for_new_scale"):
        build_optim_wrappers(dict(constructor="PGGANOptimWrapperConstructor", reset_optim_for_new_scale=False,
                                  generator=dict(optimizer=dict(type="Adam", lr=1e-3))), _tiny_model(),
                             device=torch.device("cpu"), amp=False)


def test_batch_is_cut_to_the_scales_count():
    batch = {"inputs": torch.zeros(4, 3, 2, 2), "sample_idx": torch.arange(4), "data_samples": {"k": [1, 2, 3, 4]}}
    cut_batch(batch, 2)
    assert batch["inputs"].shape[0] == 2 and batch["sample_idx"].tolist() == [0, 1]
    assert batch["data_samples"]["k"] == [1, 2]


def test_mmagic_config_trains_and_tests_through_the_cli(tmp_path, monkeypatch):
    data = write_image_folder(tmp_path / "celeba", size=32, count=4)
    config = CONFIGS / "pggan" / "pggan_8xb4-12Mimgs_celeba-cropped-128x128.py"
    options = [f"train_dataloader.dataset.data_roots={{'32':'{data}'}}", f"test_dataloader.dataset.data_root={data}",
               "train_cfg.max_iters=2", "model.nkimgs_per_scale={'8':0.001,'16':1}",
               "train_dataloader.dataset.gpu_samples_per_scale={'8':1}", "train_dataloader.dataset.gpu_samples_base=2",
               "test_evaluator.metrics.0.fake_nums=4", "test_evaluator.metrics.0.image_shape=(3,16,16)",
               "test_evaluator.metrics.1.fake_nums=4"]
    for loader in ("train_dataloader", "test_dataloader"):
        options += [f"{loader}.batch_size=2", f"{loader}.num_workers=0", f"{loader}.persistent_workers=False",
                    f"{loader}.dataset.pipeline.1.scale=(16,16)"]
    for net, scale in (("generator", "out_scale"), ("discriminator", "in_scale")):
        options += [f"model.{net}.{scale}=16", f"model.{net}.base_channels=64", f"model.{net}.max_channels=8"]
    work = tmp_path / "work"
    result = run_ok(["run", "train", str(config), "--work-dir", str(work), "--no-track", "--cfg-options", *options],
                    tmp_path, monkeypatch)
    # lr_schedule has only a 128 entry: the other scales keep the base lr
    assert "lr/generator_8: 0.001 " in result.output and "lr/discriminator_16: 0.001 " in result.output
    state = torch.load(work / "iter_2.pth", map_location="cpu", weights_only=False)["model"]
    assert float(state["shown_nkimg"]) == pytest.approx(0.003)  # 1 image at 8 px (gpu_samples_per_scale), 2 at 16
    assert int(state["_curr_scale_int"]) == 16
    run_ok(["run", "test", str(config), str(work / "iter_2.pth"), "--work-dir", str(tmp_path / "t"), "--no-track",
            "--cfg-options", *options], tmp_path, monkeypatch)
    assert "SWD/avg" in (tmp_path / "t" / "test_results.json").read_text()
