"""ADA (MMagic's ADAStyleGAN2Discriminator + ADAAug): the augmentation pipe's resampling and colour transforms
against float64 definitions, the adaptive p rule, MMagic's state-dict keys, and MMagic's StyleGAN3-T ADA
config's model trained a step at 16 px."""
from __future__ import annotations

import math

import pytest
import torch

from mgx.plugins.models.stylegan2.ada import ADAAug
from mgx.plugins.models.stylegan2.ada_augment import AugmentPipe, rotation_about, scale2d, translate2d
from mgx.plugins.models.stylegan2.checkpoint import convert_mmagic_state_dict

from gan_zoo_helpers import CONFIGS


def test_resampling_is_exact_for_identity_and_integer_translation():
    torch.manual_seed(0)
    x = torch.randn(1, 3, 16, 16, dtype=torch.float64)
    pipe = AugmentPipe(xint=1).double()
    # sym6 is orthogonal: ×2 up-sampling and ×2 down-sampling with it reconstruct the image
    torch.testing.assert_close(pipe.resample(x, scale2d(1, 1, 1, "cpu")), x, rtol=0, atol=1e-5)
    moved = pipe.resample(x, translate2d(-3, 2, 1, "cpu"))  # inverse map: out(x, y) = in(x − 3, y + 2)
    torch.testing.assert_close(moved[..., 2:-8, 5:-5], x[..., 4:-6, 2:-8], rtol=0, atol=1e-5)
    pipe.p.fill_(0)  # nothing drawn: the pipe still resamples (as MMagic), which is the identity
    torch.testing.assert_close(pipe(x), x, rtol=0, atol=1e-5)


def test_colour_transforms_match_their_definitions():
    luma = torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64) / math.sqrt(3)
    theta = torch.tensor([0.7], dtype=torch.float64)
    rotation = rotation_about(luma, theta)[0, :3, :3].double()
    torch.testing.assert_close(rotation @ rotation.T, torch.eye(3, dtype=torch.float64), rtol=0, atol=1e-6)
    torch.testing.assert_close(rotation @ luma, luma, rtol=0, atol=1e-6)  # hue keeps grey
    assert torch.trace(rotation).item() == pytest.approx(1 + 2 * math.cos(0.7), abs=1e-6)
    torch.manual_seed(1)
    image = torch.rand(4, 3, 2, 2, dtype=torch.float64)
    pipe = AugmentPipe(brightness=1, contrast=1, lumaflip=1, saturation=1).double()
    state = torch.get_rng_state()
    colour = pipe.colour_matrix(4, "cpu").double()
    torch.set_rng_state(state)
    out = pipe(image)
    expected = torch.einsum("nij,njhw->nihw", colour[:, :3, :3], image) + colour[:, :3, 3, None, None]
    torch.testing.assert_close(out, expected, rtol=1e-6, atol=1e-6)
    # each factor by its definition, from the same draws
    torch.set_rng_state(state)
    brightness = torch.randn(4, dtype=torch.float64) * 0.2
    brightness = torch.where(torch.rand(4) < 1, brightness, 0)
    contrast = torch.exp2(torch.randn(4, dtype=torch.float64) * 0.5)
    contrast = torch.where(torch.rand(4) < 1, contrast, 1)
    flip = torch.floor(torch.rand(4, 1, 1) * 2)
    flip = torch.where(torch.rand(4, 1, 1) < 1, flip, 0).double()
    saturation = torch.exp2(torch.randn(4, 1, 1, dtype=torch.float64))
    grey = (image.mean(dim=1, keepdim=True) + brightness[:, None, None, None]) * contrast[:, None, None, None]
    chroma = (image - image.mean(dim=1, keepdim=True)) * contrast[:, None, None, None]
    expected = grey * (1 - 2 * flip[:, :, :, None]) + chroma * saturation[:, :, :, None]
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


def test_p_follows_the_sign_of_d_on_reals():
    ada = ADAAug(aug_pipeline=dict(xflip=1), update_interval=2, augment_initial_p=0.1, ada_target=0.6, ada_kimg=1)
    ada.record(torch.tensor([[1.0], [2.0], [-1.0], [3.0]]))  # mean sign 0.5 < 0.6
    ada.update(iteration=0, num_batches=4)  # not an update iteration
    assert float(ada.aug_pipeline.p) == pytest.approx(0.1) and ada.log_buffer.tolist() == [4.0, 2.0]
    ada.update(iteration=1, num_batches=4)
    assert float(ada.aug_pipeline.p) == pytest.approx(0.1 - 4 * 2 / 1000) and ada.log_buffer.tolist() == [0.0, 0.0]
    ada.record(torch.ones(4, 1))
    ada.update(iteration=3, num_batches=4)
    assert float(ada.aug_pipeline.p) == pytest.approx(0.1)
    for _ in range(30):
        ada.record(-torch.ones(4, 1))
        ada.update(iteration=1, num_batches=4)
    assert float(ada.aug_pipeline.p) == 0.0  # never below 0


def test_mmagic_ada_config_builds_with_mmagics_keys_and_trains_a_step():
    from mgx.cli.context import plugin_manager
    from mgx.core.config import load_config, to_plain
    from mgx.core.engine.optim import build_optim_wrappers
    from mgx.core.registry import build

    plugin_manager()  # activates the registry
    cfg = to_plain(load_config(str(CONFIGS / "styleganv3" / "stylegan3-t_ada-gamma6.6_8xb4-fp16_metfaces-1024x1024.py"), [
        "model.generator.out_size=16", "model.generator.noise_size=16", "model.generator.style_channels=16",
        "model.generator.synthesis_cfg.channel_base=256", "model.generator.synthesis_cfg.channel_max=16",
        "model.generator.synthesis_cfg.num_layers=4", "model.generator.synthesis_cfg.margin_size=2",
        "model.discriminator.in_size=16", "model.discriminator.data_aug.update_interval=1"]))
    torch.manual_seed(0)
    model = build(cfg["model"], "model")
    ada = model.discriminator.ada_aug
    assert ada.ada_kimg == 100 and float(ada.aug_pipeline.p) == 0.0 and ada.aug_pipeline.hue == 1.0
    keys = {"discriminator.ada_aug.log_buffer", "discriminator.ada_aug.aug_pipeline.p",
            "discriminator.ada_aug.aug_pipeline.Hz_geom", "discriminator.ada_aug.aug_pipeline.Hz_fbank"}
    state = model.state_dict()
    assert keys <= set(state) and tuple(state["discriminator.ada_aug.aug_pipeline.Hz_fbank"].shape) == (4, 43)
    assert keys <= set(convert_mmagic_state_dict({**{k: state[k] for k in keys}, "x.weight_orig": torch.zeros(1)}))
    optim = build_optim_wrappers(cfg["optim_wrapper"], model, device=torch.device("cpu"), amp=False)
    logs = model.train_step({"inputs": torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8)}, optim)
    # one update (update_interval=1) from p = 0: up by batch · interval / (ada_kimg · 1000), or held at 0
    assert min(abs(float(logs["augment"]) - step) for step in (0.0, 2 / 100_000)) < 1e-9
    assert ada.log_buffer.tolist() == [0.0, 0.0]


def test_filter_bank_is_mmagics():
    import numpy as np
    import scipy.signal

    from mgx.plugins.models.stylegan2.ada_augment import SYM2, filter_bank

    low = np.asarray(SYM2)
    high = low * (-1.0) ** np.arange(4)
    low2, high2 = np.convolve(low, low[::-1]) / 2, np.convolve(high, high[::-1]) / 2
    bank = np.eye(4, 1)
    for band in range(1, 4):  # MMagic's construction: 2-D scipy convolution of the up-sampled bank
        bank = np.dstack([bank, np.zeros_like(bank)]).reshape(4, -1)[:, :-1]
        bank = scipy.signal.convolve(bank, [low2])
        bank[band, (bank.shape[1] - 7) // 2:(bank.shape[1] + 7) // 2] += high2
    np.testing.assert_allclose(filter_bank(), bank, rtol=0, atol=1e-15)
