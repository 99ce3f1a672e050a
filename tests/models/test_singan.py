"""SinGAN and PE-SinGAN (MMagic 1.2.0's ``singan`` and ``positional_encoding_in_gans`` SinGAN configs):
parameter counts and checkpoint keys of MMagic's networks, the positional encodings against their float64
definitions, the image pyramid, and the configs trained and tested through the CLI (with a resume mid-scale
and MMagic's checkpoint + pickle route)."""
from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from gan_zoo_helpers import CONFIGS, run_ok

from mgx.core.engine.checkpoint_state import load_model_weights
from mgx.plugins.data.singan_dataset import create_real_pyramid
from mgx.plugins.models.mspie import CatersianGrid, SinGANMSGeneratorPE, SinusoidalPositionalEmbedding
from mgx.plugins.models.singan import SinGAN, SinGANMultiScaleDiscriminator, SinGANMultiScaleGenerator


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_parameter_counts_equal_mmagics_published_configs():
    # counted by hand from MMagic's singan_modules.py for singan_fish.py (num_scales=10: 11 blocks of widths
    # 32 ×4, 64 ×4, 128 ×3; head + 3 body ConvModules with BN and no conv bias; a biased tail conv)
    assert _count(SinGANMultiScaleGenerator(3, 3, num_scales=10)) == 1_927_713
    assert _count(SinGANMultiScaleDiscriminator(3, num_scales=10)) == 1_913_867
    # PE-SinGAN: the first block's head takes the encoding's channels (SPE dim 4: 8; CSG: 2)
    spe = SinusoidalPositionalEmbedding(embedding_dim=4, padding_idx=0, init_size=512, center_shift=200)
    assert _count(SinGANMSGeneratorPE(3, 3, 10, padding=1, pad_at_head=False, first_stage_in_channels=8,
                                      positional_encoding=spe)) == 1_927_713 + 32 * 9 * (8 - 3)
    assert _count(SinGANMSGeneratorPE(3, 3, 10, padding=1, pad_at_head=False, first_stage_in_channels=2,
                                      positional_encoding=CatersianGrid())) == 1_927_713 - 32 * 9
    # discriminator without BN (interp-pad_disc-nobn): each of the four BN convs of a block gains a bias (C)
    # and loses the BN scale and shift (2C)
    assert _count(SinGANMultiScaleDiscriminator(3, 10, norm_cfg=None)) == 1_913_867 - 4 * (4 * 32 + 4 * 64 + 3 * 128)


def _mmagic_block_keys(prefix: str, norm: bool = True, tail_bias: bool = True) -> list[str]:
    """The state-dict keys of MMagic's GeneratorBlock/DiscriminatorBlock (MMCV ConvModule: conv, bn)."""
    keys = []
    for layer in ("head", "body.block1", "body.block2", "body.block3"):
        keys.append(f"{prefix}.{layer}.conv.weight")
        if norm:
            keys += [f"{prefix}.{layer}.bn.{name}" for name in
                     ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")]
        else:
            keys.append(f"{prefix}.{layer}.conv.bias")
    return keys + [f"{prefix}.tail.conv.weight"] + ([f"{prefix}.tail.conv.bias"] if tail_bias else [])


def _tiny(model_type=SinGAN, generator=None, **kwargs):
    generator = generator or dict(type="SinGANMultiScaleGenerator", in_channels=3, out_channels=3, num_scales=1,
                                  base_channels=4, min_feat_channels=4)
    return model_type(generator=generator, discriminator=dict(
        type="SinGANMultiScaleDiscriminator", in_channels=3, num_scales=1, base_channels=4,
        min_feat_channels=4), **kwargs)


def test_mmagic_checkpoint_keys_and_pickle_load(tmp_path):
    model = _tiny()
    expected = [key for scale in range(2) for key in
                _mmagic_block_keys(f"generator.blocks.{scale}") + _mmagic_block_keys(f"discriminator.blocks.{scale}")]
    network_keys = [k for k in model.state_dict() if k.startswith(("generator.", "discriminator."))]
    assert sorted(network_keys) == sorted(expected)
    spe = SinGANMSGeneratorPE(3, 3, 0, positional_encoding=dict(type="SPE", embedding_dim=4, padding_idx=0))
    assert "head_position_encode._float_tensor" in spe.state_dict()  # MMagic's buffer key

    # an MMagic checkpoint (networks only) plus its PickleDataHook pickle sample as the trained model does
    torch.manual_seed(0)
    mmagic = {k: (torch.rand(v.shape) + 0.5 if k.endswith("running_var") else torch.randn(v.shape))
              if v.is_floating_point() else v for k, v in model.state_dict().items()
              if k.startswith(("generator.", "discriminator."))}
    mmagic["data_preprocessor.mean"] = torch.zeros(1, 3, 1, 1)
    noises = [np.random.RandomState(0).randn(1, 1, 6, 7).astype(np.float32), np.zeros((1, 3, 8, 9), np.float32)]
    pkl = tmp_path / "iter_7.pkl"
    pkl.write_bytes(pickle.dumps(dict(fixed_noises=noises, noise_weights=[1, 0.05], curr_stage=1)))
    loaded = _tiny(test_pkl_data=str(pkl))
    load_model_weights(loaded, mmagic, "mmagic.pth")
    assert torch.equal(loaded.generator.blocks[1].tail.conv.bias, mmagic["generator.blocks.1.tail.conv.bias"])
    loaded.eval()
    recon = loaded.sample(1, "recon")
    assert loaded.curr_stage == 1 and loaded.noise_weights == [1.0, 0.05] and recon.shape == (1, 3, 8, 9)
    # the same reconstruction computed directly from the pickled noises
    with torch.no_grad():
        direct = loaded.generator(None, [torch.from_numpy(n) for n in noises], [1.0, 0.05], "recon", 1)
    assert torch.isfinite(recon).all() and torch.equal(recon, direct)


def _spe_definition(ids: list[int], dim: int, padding_idx: int, div_half_dim: bool) -> np.ndarray:
    """float64: fairseq's positions (count of non-padding ids so far), then [sin(p·ω_k), cos(p·ω_k)]."""
    half = dim // 2
    omega = np.exp(-np.arange(half) * math.log(10000) / (half if div_half_dim else half - 1))
    rows, count = [], 0
    for value in ids:
        if value == padding_idx:
            rows.append(np.zeros(dim))
            continue
        count += 1
        position = count + padding_idx
        rows.append(np.concatenate([np.sin(position * omega), np.cos(position * omega)]))
    return np.stack(rows)


@pytest.mark.parametrize("dim,shift,div_half", [(4, 200, False), (8, 200, True), (4, 2, False), (6, None, False)])
def test_spe_grid_matches_float64_definition(dim, shift, div_half):
    h, w = 5, 6
    spe = SinusoidalPositionalEmbedding(dim, padding_idx=0, init_size=512, div_half_dim=div_half, center_shift=shift)
    grid = spe(torch.zeros(2, 3, h, w, dtype=torch.float64))
    assert grid.shape == (2, 2 * dim, h, w) and grid.dtype == torch.float64

    def ids(size):  # column/row ids 1..size moved so the centre sits at center_shift (MMagic's rule)
        offset = 0 if shift is None else shift - (size // 2 if size % 2 == 0 else size // 2 + 1)
        return [i + 1 + offset for i in range(size)]

    x_emb, y_emb = _spe_definition(ids(w), dim, 0, div_half), _spe_definition(ids(h), dim, 0, div_half)
    expected = np.concatenate([np.broadcast_to(x_emb.T[:, None, :], (dim, h, w)),
                               np.broadcast_to(y_emb.T[:, :, None], (dim, h, w))])
    assert np.abs(grid[1].numpy() - expected).max() < 1e-5  # the table is float32, as MMagic's
    if shift == 2:  # id 0 (the padding index) falls inside the grid: a zero column, positions skip it
        assert (grid[0, :dim, :, ids(w).index(0)] == 0).all()


def test_csg_grid_matches_float64_definition():
    h, w = 4, 7
    grid = CatersianGrid()(torch.zeros(3, 5, h, w, dtype=torch.float64))
    ys, xs = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    expected = np.stack([2 * xs / (w - 1) - 1, 2 * ys / (h - 1) - 1])
    assert grid.shape == (3, 2, h, w) and np.abs(grid[2].numpy() - expected).max() < 1e-6  # float32 arithmetic, as MMagic
    assert (CatersianGrid()(torch.zeros(1, 1, 1, 3))[0, 1] == -1).all()  # one row: y stays at -1


def test_pyramid_follows_mmagics_formula():
    real = np.zeros((36, 40, 3), np.uint8)
    reals, factor, stop = create_real_pyramid(real, min_size=16, max_size=40, scale_factor_init=0.75)
    # num_scales = ceil(log(16/36)/log .75) + 1 = 4, scale2stop = 0; factor = (16/36)^(1/4)
    assert stop == 4 and len(reals) == 5 and math.isclose(factor, (16 / 36) ** 0.25)
    assert [r.shape[:2] for r in reals] == [(int(36 * factor ** (4 - i) + 0.5), int(40 * factor ** (4 - i) + 0.5))
                                            for i in range(5)]
    assert reals[-1].shape[:2] == (36, 40)


def _image(path):
    y, x = np.mgrid[0:24, 0:26]
    Image.fromarray(np.stack([(x * 9) % 256, (y * 11) % 256, ((x + y) * 5) % 256], -1).astype(np.uint8)).save(path)
    return path


def _options(image, iters_per_scale=1, max_iters=2):
    tiny = [f"model.{net}.{key}=4" for net in ("generator", "discriminator")
            for key in ("base_channels", "min_feat_channels")]
    scales = [f"model.{part}num_scales=1" for part in ("", "generator.", "discriminator.")]
    return [f"train_dataloader.dataset.data_root={image}", "train_dataloader.dataset.min_size=12",
            "train_dataloader.dataset.max_size=26", *tiny, *scales, f"model.iters_per_scale={iters_per_scale}",
            "model.discriminator_steps=1", "model.generator_steps=1", f"train_cfg.max_iters={max_iters}",
            "default_hooks.checkpoint.interval=1"]


def test_singan_config_trains_resumes_mid_scale_and_tests(tmp_path, monkeypatch):
    config = CONFIGS / "singan" / "singan_fish.py"
    image = _image(tmp_path / "fish.png")
    # scales of two iterations: the resume from iteration 1 lands mid-scale 0, then crosses into scale 1
    options = _options(image, iters_per_scale=2, max_iters=3)
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    run_ok(["run", "train", str(config), "--work-dir", str(straight), "--no-track", "--cfg-options", *options],
           tmp_path, monkeypatch)
    run_ok(["run", "train", str(config), "--work-dir", str(resumed), "--no-track", "--cfg-options", *options[:-2],
            "train_cfg.max_iters=1"], tmp_path, monkeypatch)
    run_ok(["run", "train", str(config), "--work-dir", str(resumed), "--no-track", "--resume", "--cfg-options",
            *options], tmp_path, monkeypatch)
    a, b = (torch.load(d / "iter_3.pth", weights_only=False)["model"] for d in (straight, resumed))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert int(a["curr_stage_value"]) == 1 and 0 < float(a["noise_weights_table"][1]) < 0.2
    with open(straight / "pickle" / "iter_4.pkl", "rb") as handle:
        pickled = pickle.load(handle)
    assert pickled["curr_stage"] == 1 and len(pickled["fixed_noises"]) == len(pickled["noise_weights"]) + 3
    run_ok(["run", "test", str(config), str(straight / "iter_3.pth"), "--work-dir", str(tmp_path / "test"),
            "--no-track", "--cfg-options", *options], tmp_path, monkeypatch)
    assert len(list((tmp_path / "test" / "samples").glob("singan_*/iter_*.png"))) == 2


def test_pe_singan_config_trains_and_tests(tmp_path, monkeypatch):
    config = CONFIGS / "positional_encoding_in_gans" / "singan_spe-dim4_fish.py"
    image = _image(tmp_path / "fish.png")
    options = _options(image)
    work = tmp_path / "work"
    run_ok(["run", "train", str(config), "--work-dir", str(work), "--no-track", "--cfg-options", *options],
           tmp_path, monkeypatch)
    state = torch.load(work / "iter_2.pth", weights_only=False)["model"]
    assert state["generator.blocks.0.head.conv.weight"].shape[1] == 8  # SPE dim 4: 8 channels at scale 0
    run_ok(["run", "test", str(config), str(work / "iter_2.pth"), "--work-dir", str(tmp_path / "test"),
            "--no-track", "--cfg-options", *options], tmp_path, monkeypatch)
    assert len(list((tmp_path / "test" / "samples").glob("singan_*/iter_*.png"))) == 2


class _QuadraticCritic(torch.nn.Module):
    """D(x) = Σ w·x² + v·x per image (a 1-pixel map): ∇ₓD = 2w·x + v in closed form."""

    def __init__(self, shape):
        super().__init__()
        rng = torch.Generator().manual_seed(3)
        self.w = torch.nn.Parameter(torch.randn(shape, generator=rng, dtype=torch.float64) * 0.3)
        self.v = torch.nn.Parameter(torch.randn(shape, generator=rng, dtype=torch.float64) * 0.3)

    def forward(self, x, curr_scale):
        return (self.w * x * x + self.v * x).sum(dim=(1, 2, 3)).view(-1, 1, 1, 1)


def test_gradient_penalty_matches_float64_definition():
    model = _tiny()
    model.discriminator = _QuadraticCritic((3, 5, 6))
    rng = torch.Generator().manual_seed(1)
    real, fake = (torch.randn(2, 3, 5, 6, generator=rng, dtype=torch.float64) for _ in range(2))
    torch.manual_seed(7)
    penalty = model.gradient_penalty(real, fake, 0)
    torch.manual_seed(7)
    alpha = torch.rand(2, 1, 1, 1).double()  # the same per-image draw
    mixed = alpha * real + (1 - alpha) * fake
    grad = (2 * model.discriminator.w * mixed + model.discriminator.v).detach().numpy()
    expected = ((np.sqrt((grad ** 2).sum(axis=1)) - 1) ** 2).mean()  # the norm over channels, per pixel
    assert abs(float(penalty.detach()) - expected) < 1e-12


def test_zoo_trial_writes_the_single_image_and_bounds_its_pyramid(tmp_path):
    from mgx.benchmarks.zoo_data import Sizes, prepare_trial
    from mgx.core.config import load_config

    trial = prepare_trial(load_config(CONFIGS / "singan" / "singan_fish.py"), tmp_path, Sizes(crop=16, image=16, count=2))
    image = Image.open(tmp_path / "data" / "singan" / "fish-crop.jpg")
    assert image.size == (40, 36)  # (2·16 + 8) × (2·16 + 4)
    assert {"train_dataloader.dataset.min_size=16", "train_dataloader.dataset.max_size=40",
            "train_cfg.max_iters=2"} <= set(trial.options)
    reals, _, stop = create_real_pyramid(np.asarray(image), 16, 40, 0.75)
    assert stop >= 2 and reals[-1].shape[:2] == (36, 40)
