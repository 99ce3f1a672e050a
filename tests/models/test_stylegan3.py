"""StyleGAN3: the filtered non-linearity against a float64 computation of its definition, MMagic's
state-dict layout (keys and shapes read off its stylegan3_modules.py), the input-transform hook, and
MMagic's trainable config-T config trained 2 iterations and tested (FID + EQ-T/EQ-R) through the CLI."""
import math

import numpy as np
import pytest
import scipy.signal
import torch

from mgx.core.registry import build
from mgx.plugins.models.stylegan3.modules import SynthesisLayer
from mgx.plugins.models.stylegan3.ops import filtered_lrelu

from gan_zoo_helpers import CONFIGS, loader_options, tiny_metric_options, train_and_test, write_image_folder


def tiny_model(radial=False, **extra):
    synthesis = dict(type="SynthesisNetwork", channel_base=256, channel_max=16, num_layers=4, margin_size=2)
    if radial:
        synthesis.update(conv_kernel=1, use_radial_filters=True)
    return dict(type="StyleGAN3", generator=dict(type="StyleGANv3Generator", out_size=16, style_channels=16,
                                                  noise_size=16, img_channels=3, synthesis_cfg=synthesis),
                discriminator=dict(type="StyleGAN2Discriminator", in_size=16, channel_multiplier=1), **extra)


def reference_filtered_lrelu(x, fu, fd, bias, up, down, pad, gain, slope, clamp):
    """float64 numpy: zero-insert, pad, convolve with up²·fu⊗fu, bias-lrelu-clamp, convolve with fd, decimate.
    (Bias first: MMagic adds it before upsampling.)"""
    x = x + bias[None, :, None, None]
    n, c, h, w = x.shape
    up_x = np.zeros((n, c, h * up, w * up))
    up_x[:, :, ::up, ::up] = x
    x0, x1, y0, y1 = pad
    up_x = np.pad(up_x, ((0, 0), (0, 0), (y0, y1), (x0, x1)))
    kernel_up = np.outer(fu, fu) * up ** 2
    x = np.stack([[scipy.signal.convolve2d(plane, kernel_up, mode="valid") for plane in sample] for sample in up_x])
    x = np.clip(np.where(x >= 0, x, x * slope) * gain, -clamp, clamp)
    kernel_down = fd if fd.ndim == 2 else np.outer(fd, fd)
    x = np.stack([[scipy.signal.convolve2d(plane, kernel_down, mode="valid") for plane in sample] for sample in x])
    return x[:, :, ::down, ::down]


@pytest.mark.parametrize("radial", [False, True])
def test_filtered_lrelu_matches_float64_definition(radial):
    torch.manual_seed(0)
    layer = SynthesisLayer(8, is_torgb=False, is_critically_sampled=False, use_fp16=False, in_channels=4,
                           out_channels=4, in_size=12, out_size=12, in_sampling_rate=8, out_sampling_rate=8,
                           in_cutoff=2.0, out_cutoff=3.0, in_half_width=2.0, out_half_width=1.0,
                           use_radial_filters=radial, conv_clamp=0.8)
    assert layer.up_factor == 2 and layer.down_factor == 2 and layer.down_filter.dim() == (2 if radial else 1)
    x = torch.randn(2, 4, 14, 14) * 2  # a 3×3 conv's "full" output of a 12-px input
    bias = torch.randn(4)
    out = filtered_lrelu(x, layer.up_filter, layer.down_filter, bias, 2, 2, layer.padding, math.sqrt(2), 0.2, 0.8)
    expected = reference_filtered_lrelu(x.double().numpy(), layer.up_filter.double().numpy(),
                                        layer.down_filter.double().numpy(), bias.double().numpy(), 2, 2,
                                        layer.padding, math.sqrt(2), 0.2, 0.8)
    assert out.shape == expected.shape == (2, 4, 12, 12)
    np.testing.assert_allclose(out.double().numpy(), expected, atol=2e-5, rtol=1e-5)
    # the designed filters are unit-DC low-pass filters
    assert float(layer.up_filter.sum()) == pytest.approx(1, abs=1e-6)
    assert float(layer.down_filter.sum()) == pytest.approx(1, abs=1e-6)


# (key, shape) of MMagic's StyleGAN3Generator(out_size=16, style_channels=16, noise_size=16, img_channels=3,
# synthesis_cfg=dict(channel_base=256, channel_max=16, num_layers=4, margin_size=2)): cutoffs 2, 2.83, 4, 8, 8
# → sampling rates 16 (stopband 2^2.1·2 ≈ 8.6 rounds up to 16) and sizes 16 + 2·2 = 20 except the last two
# (out_size); filters of 6·2 taps; the ToRGB layer (1×1, no filters: None buffers are not saved)
MMAGIC_GENERATOR = {
    "synthesis.input.weight": (16, 16), "synthesis.input.affine.weight": (4, 16), "synthesis.input.affine.bias": (4,),
    "synthesis.input.transform": (3, 3), "synthesis.input.freqs": (16, 2), "synthesis.input.phases": (16,),
    "synthesis.L0_20_16.affine.weight": (16, 16), "synthesis.L0_20_16.weight": (16, 16, 3, 3),
    "synthesis.L0_20_16.bias": (16,), "synthesis.L0_20_16.magnitude_ema": (), "synthesis.L0_20_16.up_filter": (12,),
    "synthesis.L0_20_16.down_filter": (12,), "synthesis.L3_16_16.weight": (16, 16, 3, 3),
    "synthesis.L4_16_3.weight": (3, 16, 1, 1), "synthesis.L4_16_3.affine.bias": (16,),
    "style_mapping.fc0.weight": (16, 16), "style_mapping.fc1.bias": (16,), "style_mapping.w_avg": (16,),
}


def test_generator_has_mmagics_keys_and_the_transform_hook_moves_the_image():
    torch.manual_seed(0)
    model = build(tiny_model(), "model")
    state = {key[len("generator."):]: tuple(v.shape) for key, v in model.state_dict().items()
             if key.startswith("generator.")}
    for key, shape in MMAGIC_GENERATOR.items():
        assert state[key] == shape, key
    assert not any(k.startswith("synthesis.L4_16_3.") and "filter" in k for k in state)
    assert len([k for k in state if k.startswith("synthesis.L")]) == 4 * 7 + 5  # 7 per filtered layer, ToRGB without filters
    radial = build(tiny_model(radial=True), "model").generator.synthesis
    assert radial.L0_20_16.weight.shape[2:] == (1, 1) and radial.L0_20_16.down_filter.dim() == 2
    assert radial.L3_16_16.down_filter.dim() == 1  # critically sampled layers keep separable filters
    view = model.sampling_model("orig")
    w = view.mapping(torch.randn(1, 16))
    plain = view.synthesis(w, transform=torch.eye(3))
    shift = torch.eye(3)
    shift[0, 2] = -4 / 16  # translate by 4 pixels: the alias-free generator moves its content
    moved = view.synthesis(w, transform=shift)
    err_moved = (moved[..., 6:] - plain[..., 2:-4]).abs().mean()
    assert err_moved < 0.5 * (moved - plain).abs().mean()
    assert torch.equal(model.generator.synthesis.input.transform, torch.eye(3))  # restored


def test_mmagic_stylegan3_t_config_trains_and_tests_eq_through_the_cli(tmp_path, monkeypatch):
    config = CONFIGS / "styleganv3" / "stylegan3-t_gamma2.0_8xb4-fp16-noaug_ffhq-256x256.py"
    data = write_image_folder(tmp_path / "images", size=16)
    options = loader_options(data) + ["train_cfg.max_iters=2", "model.generator.out_size=16",
                                      "model.generator.noise_size=16", "model.generator.style_channels=16",
                                      "model.generator.synthesis_cfg.channel_base=256",
                                      "model.generator.synthesis_cfg.channel_max=16",
                                      "model.generator.synthesis_cfg.num_layers=4",
                                      "model.generator.synthesis_cfg.margin_size=2",
                                      "model.discriminator.in_size=16"]
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        options.append(f"{loader}.dataset.pipeline.1.scale=(16,16)")
    options += tiny_metric_options(tmp_path, {"val_evaluator": (0,), "test_evaluator": (0,)})
    options += ["val_evaluator.metrics.0.real_nums=2", "test_evaluator.metrics.0.real_nums=2",
                "val_evaluator.metrics.1.fake_nums=2", "test_evaluator.metrics.1.fake_nums=2"]
    metrics = train_and_test(config, tmp_path, options, monkeypatch)
    assert {"FID-Full-50k/fid", "EQ/eqt_int", "EQ/eqt_frac", "EQ/eqr"} <= set(metrics)
    assert all(math.isfinite(metrics[key]) or metrics[key] == math.inf for key in metrics)


def test_load_from_a_checkpoint_in_mmagics_layout(tmp_path):
    from mgx.core.engine.checkpoint import load_checkpoint, load_model_weights, weights_of
    from test_stylegan2_mmagic import mmagic_discriminator_shapes

    cfg = tiny_model(ema_config=dict(type="ExponentialMovingAverage", momentum=0.001))
    cfg["discriminator"] = dict(type="StyleGAN2Discriminator", in_size=8)
    torch.manual_seed(1)
    generator = {k: torch.randn(v.shape) for k, v in build(cfg, "model").generator.state_dict().items()}
    state = {f"generator.{k}": v for k, v in generator.items()}
    state.update({f"generator_ema.module.{k}": v + 1 for k, v in generator.items()})
    state["generator_ema.steps"] = torch.tensor(7)  # MMEngine's averaged model counts its updates
    state.update({f"discriminator.{k}": torch.randn(shape) for k, shape in mmagic_discriminator_shapes(8).items()})
    path = tmp_path / "stylegan3_mmagic.pth"
    torch.save({"state_dict": state, "meta": {}}, path)
    model = build(cfg, "model")
    load_model_weights(model, weights_of(load_checkpoint(path)), str(path))
    loaded = model.state_dict()
    for key, value in generator.items():
        assert torch.equal(loaded[f"generator.{key}"], value) and torch.equal(loaded[f"generator_ema.module.{key}"],
                                                                             value + 1), key
    assert torch.equal(loaded["discriminator.final_linear.1.weight"],
                       state["discriminator.final_linear.1.linear.weight_orig"])
    assert int(loaded["generator_ema.steps"]) == 7 and int(loaded["train_iter"]) == 0


def test_mmagic_config_r_test_only_config_evaluates_converted_weights(tmp_path, monkeypatch):
    """MMagic's cvt-official configs (train_dataloader = optim_wrapper = None) evaluate converted
    official weights: here a config-R model's state_dict in MMEngine's checkpoint layout."""
    from gan_zoo_helpers import evaluate_checkpoint

    config = CONFIGS / "styleganv3" / "stylegan3-r_cvt-official-rgb_8xb4_ffhqu-256x256.py"
    data = write_image_folder(tmp_path / "images", size=16)
    options = [o for o in loader_options(data) if not o.startswith("train_dataloader")]
    options += [f"{loader}.dataset.pipeline.1.scale=(16,16)" for loader in ("val_dataloader", "test_dataloader")]
    options += tiny_metric_options(tmp_path, {"test_evaluator": (0,)}) + ["test_evaluator.metrics.0.real_nums=2"]
    cfg = tiny_model(radial=True)
    cfg["generator"]["rgb2bgr"] = True
    cfg["discriminator"]["in_size"] = 16
    model = build(cfg, "model")
    torch.save({"state_dict": model.state_dict()}, tmp_path / "converted.pth")
    options += ["model.generator.out_size=16", "model.generator.noise_size=16", "model.generator.style_channels=16",
                "model.generator.synthesis_cfg.channel_base=256", "model.generator.synthesis_cfg.channel_max=16",
                "model.generator.synthesis_cfg.num_layers=4", "model.generator.synthesis_cfg.margin_size=2",
                "model.discriminator.in_size=16"]
    metrics = evaluate_checkpoint(config, tmp_path / "converted.pth", tmp_path / "test", options, monkeypatch)
    assert math.isfinite(metrics["FID-Full-50k/fid"])
