"""Restormer: MDTA (channel attention), its layer norms and pixel (un)shuffle against float64 statements of
their definitions; parameter counts and state-dict keys equal MMagic 1.2.0's; MMagic's test-only Restormer
configs (copied unchanged into tests/mmagic/configs/restormer/) evaluated by `mgx run test` on a checkpoint in
MMagic's layout, at tiny width, on folders in the configs' layout."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from mgx.benchmarks.zoo_data import Sizes, write_config_data
from mgx.core.config import load_config
from mgx.plugins.models.ops.channel_attention import ChannelLayerNorm, transposed_attention
from mgx.plugins.models.restormer.restormer_net import Downsample, Restormer, Upsample
from mgx_subprocess import run_mgx

CONFIGS = Path(__file__).resolve().parents[1] / "mmagic" / "configs" / "restormer"

# sum(p.numel()) of MMagic 1.2.0's Restormer (mmagic/models/editors/restormer/restormer_net.py) built with
# the published configs' arguments (dim 48, blocks [4, 6, 6, 8], 4 refinement blocks, heads [1, 2, 4, 8])
PUBLISHED_PARAMETERS = {
    "WithBias, RGB (deraining, motion deblurring, single-image defocus)": (dict(LayerNorm_type="WithBias"), 26126644),
    "BiasFree, RGB (real and colour Gaussian denoising)": (dict(LayerNorm_type="BiasFree"), 26111668),
    "BiasFree, gray (gray Gaussian denoising)": (dict(LayerNorm_type="BiasFree", inp_channels=1, out_channels=1),
                                                 26109076),
    "WithBias, dual-pixel defocus": (dict(LayerNorm_type="WithBias", inp_channels=6, dual_pixel_task=True), 26132548),
}
TINY = dict(dim=8, num_blocks=[1, 1, 1, 1], num_refinement_blocks=1, heads=[1, 2, 2, 4])


def _block_keys(prefix: str, width: int, heads: int) -> dict[str, tuple]:
    hidden = int(width * 2.66)
    return {f"{prefix}.norm1.body.weight": (width,), f"{prefix}.norm1.body.bias": (width,),
            f"{prefix}.attn.temperature": (heads, 1, 1), f"{prefix}.attn.qkv.weight": (3 * width, width, 1, 1),
            f"{prefix}.attn.qkv_dwconv.weight": (3 * width, 1, 3, 3),
            f"{prefix}.attn.project_out.weight": (width, width, 1, 1),
            f"{prefix}.norm2.body.weight": (width,), f"{prefix}.norm2.body.bias": (width,),
            f"{prefix}.ffn.project_in.weight": (2 * hidden, width, 1, 1),
            f"{prefix}.ffn.dwconv.weight": (2 * hidden, 1, 3, 3),
            f"{prefix}.ffn.project_out.weight": (width, hidden, 1, 1)}


def mmagic_tiny_dual_state_dict_shapes() -> dict[str, tuple]:
    """MMagic's state dict of Restormer(**TINY, inp_channels=6, dual_pixel_task=True), as its definition reads."""
    shapes = {"patch_embed.proj.weight": (8, 6, 3, 3)}
    shapes |= _block_keys("encoder_level1.0", 8, 1) | {"down1_2.body.0.weight": (4, 8, 3, 3)}
    shapes |= _block_keys("encoder_level2.0", 16, 2) | {"down2_3.body.0.weight": (8, 16, 3, 3)}
    shapes |= _block_keys("encoder_level3.0", 32, 2) | {"down3_4.body.0.weight": (16, 32, 3, 3)}
    shapes |= _block_keys("latent.0", 64, 4) | {"up4_3.body.0.weight": (128, 64, 3, 3),
                                                 "reduce_chan_level3.weight": (32, 64, 1, 1)}
    shapes |= _block_keys("decoder_level3.0", 32, 2) | {"up3_2.body.0.weight": (64, 32, 3, 3),
                                                         "reduce_chan_level2.weight": (16, 32, 1, 1)}
    shapes |= _block_keys("decoder_level2.0", 16, 2) | {"up2_1.body.0.weight": (32, 16, 3, 3)}
    shapes |= _block_keys("decoder_level1.0", 16, 1) | _block_keys("refinement.0", 16, 1)
    return shapes | {"skip_conv.weight": (16, 8, 1, 1), "output.weight": (3, 16, 3, 3)}


@pytest.mark.parametrize("case", list(PUBLISHED_PARAMETERS))
def test_parameter_count_equals_mmagic_published_configs(case):
    arguments, expected = PUBLISHED_PARAMETERS[case]
    assert sum(p.numel() for p in Restormer(**arguments).parameters()) == expected


def test_state_dict_keys_and_shapes_are_mmagic_ones():
    net = Restormer(**TINY, inp_channels=6, dual_pixel_task=True)
    assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == mmagic_tiny_dual_state_dict_shapes()
    without_bias = Restormer(**TINY, LayerNorm_type="BiasFree").state_dict()
    assert not any(key.endswith("body.bias") for key in without_bias) and "skip_conv.weight" not in without_bias


def test_transposed_attention_matches_float64_definition():
    generator = torch.Generator().manual_seed(0)
    heads, channels, height, width = 2, 6, 5, 7
    q, k, v = (torch.randn(2, channels, height, width, generator=generator) for _ in range(3))
    temperature = torch.rand(heads, 1, 1, generator=generator) + 0.5
    out = transposed_attention(q, k, v, heads, temperature)
    q64, k64, v64, t64 = (t.double().numpy() for t in (q, k, v, temperature))
    per_head = channels // heads
    expected = np.empty((2, channels, height, width))
    for n in range(2):
        for h in range(heads):
            rows = slice(h * per_head, (h + 1) * per_head)
            qh, kh, vh = (a[n, rows].reshape(per_head, -1) for a in (q64, k64, v64))
            qh = qh / np.linalg.norm(qh, axis=1, keepdims=True)
            kh = kh / np.linalg.norm(kh, axis=1, keepdims=True)
            logits = qh @ kh.T * t64[h, 0, 0]  # channel × channel, not pixel × pixel
            weights = np.exp(logits - logits.max(axis=1, keepdims=True))
            weights /= weights.sum(axis=1, keepdims=True)
            expected[n, rows] = (weights @ vh).reshape(per_head, height, width)
    np.testing.assert_allclose(out.double().numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("with_bias", [True, False])
def test_channel_layer_norm_matches_float64_definition(with_bias):
    norm = ChannelLayerNorm(5, with_bias)
    with torch.no_grad():
        norm.body.weight.uniform_(0.5, 1.5)
        if with_bias:
            norm.body.bias.uniform_(-1, 1)
    x = torch.randn(2, 5, 3, 4, generator=torch.Generator().manual_seed(1)) * 3 + 1
    x64, w = x.double().numpy(), norm.body.weight.detach().double().numpy()[None, :, None, None]
    mean, var = x64.mean(axis=1, keepdims=True), x64.var(axis=1, keepdims=True)
    if with_bias:
        bias = norm.body.bias.detach().double().numpy()[None, :, None, None]
        expected = (x64 - mean) / np.sqrt(var + 1e-5) * w + bias
    else:  # Restormer's BiasFree form: the mean leaves the variance only
        expected = x64 / np.sqrt(var + 1e-5) * w
    np.testing.assert_allclose(norm(x).detach().double().numpy(), expected, rtol=1e-5, atol=1e-5)


def test_pixel_unshuffle_and_shuffle_match_their_index_definitions():
    down, up = Downsample(4), Upsample(4)
    x = torch.randn(1, 4, 6, 8, generator=torch.Generator().manual_seed(2))
    conv = torch.nn.functional.conv2d(x.double(), down.body[0].weight.detach().double(), padding=1).numpy()  # 2×6×8
    out = down(x).detach().double().numpy()  # 8×3×4: out[c·4 + 2i + j, y, x] = conv[c, 2y + i, 2x + j]
    for c in range(2):
        for i in range(2):
            for j in range(2):
                np.testing.assert_allclose(out[0, c * 4 + 2 * i + j], conv[0, c, i::2, j::2], rtol=1e-5, atol=1e-5)
    conv = torch.nn.functional.conv2d(x.double(), up.body[0].weight.detach().double(), padding=1).numpy()  # 8×6×8
    out = up(x).detach().double().numpy()  # 2×12×16: out[c, 2y + i, 2x + j] = conv[c·4 + 2i + j, y, x]
    for c in range(2):
        for i in range(2):
            for j in range(2):
                np.testing.assert_allclose(out[0, c, i::2, j::2], conv[0, c * 4 + 2 * i + j], rtol=1e-5, atol=1e-5)


def test_odd_sizes_are_reflect_padded_and_cropped_back():
    net = Restormer(**TINY).eval()
    x = torch.rand(1, 3, 13, 21)
    with torch.no_grad():
        out = net(x)
        padded = net(torch.nn.functional.pad(x, (0, 3, 0, 3), mode="reflect"))
    assert out.shape == x.shape
    torch.testing.assert_close(out, padded[..., :13, :21])


def test_dual_pixel_input_needs_the_named_views():
    net = Restormer(**TINY, inp_channels=6, dual_pixel_task=True)
    with pytest.raises(Exception, match="imgR"):
        net({"imgL": torch.rand(1, 3, 16, 16)})


def _evaluator_options(cfg) -> list[str]:
    """MMagic's list-of-metric-dicts evaluators as mgx's Evaluator dicts (until mgx reads the list form)."""
    options = []
    for index, metrics in enumerate(cfg.test_evaluator):
        if isinstance(metrics, (list, tuple)):
            options.append(f"test_evaluator.{index}=dict(type='Evaluator', metrics={[dict(m) for m in metrics]!r})")
    return options


@pytest.mark.parametrize("config", ["restormer_official_dpdd-dual.py"])  # the others: benchmarks/zoo_trials.py
def test_mmagic_restormer_config_tests_an_mmagic_checkpoint(config, tmp_path):
    cfg = load_config(CONFIGS / config)
    write_config_data(cfg, tmp_path, Sizes(crop=24, image=24, count=1))
    arguments = {k: v for k, v in cfg.model.generator.items() if k != "type"} | TINY
    generator = Restormer(**arguments)
    checkpoint = tmp_path / "restormer-mmagic-layout.pth"  # MMEngine's layout: model keys under state_dict
    torch.save({"meta": {}, "state_dict": {f"generator.{k}": v for k, v in generator.state_dict().items()}},
               checkpoint)
    tiny = [f"model.generator.{key}={value!r}".replace(" ", "") for key, value in TINY.items()]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MGX_OFFLINE": "1"}
    tested = run_mgx("run", "test", str(CONFIGS / config), str(checkpoint), "--work-dir", str(tmp_path / "test"),
                     "--no-track", "--cfg-options", *tiny, *_evaluator_options(cfg), cwd=tmp_path, env=env)
    assert tested.returncode == 0, tested.stderr[-4000:]
    metrics = json.loads((tmp_path / "test" / "test_results.json").read_text())["metrics"]
    prefixes = [metric["prefix"] for metrics_ in cfg.test_evaluator for metric in metrics_]
    for prefix in prefixes:
        assert np.isfinite(metrics[f"{prefix}/PSNR"]) and -1 <= metrics[f"{prefix}/SSIM"] <= 1, metrics
