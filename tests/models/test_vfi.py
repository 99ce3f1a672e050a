"""Frame interpolation: CAINNet and FLAVRNet under MMagic's state-dict keys and parameter counts, their
cheap parts against float64 computations of their definitions, BasicInterpolator's windows, the
ColorJitter transform, and MMagic's CAIN and FLAVR configs through the CLI (in-process) on synthetic
Vimeo-90K triplets/septuplets (benchmarks/zoo_data), tested on checkpoints in MMagic's layout."""
import itertools
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mgx.core.errors import ConfigError
from mgx.core.registry import build

sys.path.insert(0, str(Path(__file__).parent))
from test_basicvsr import _conv  # noqa: E402
from test_tdan_tof import CONFIGS, _parameters, _train_then_test_mmagic_layout  # noqa: E402

TINY_CAIN = dict(type="CAINNet", num_block_groups=2, num_block_layers=1, depth=1, reduction=4)
TINY_FLAVR = dict(type="FLAVRNet", num_input_frames=4, num_output_frames=1, mid_channels_list=[16, 8, 8, 8],
                  encoder_layers_list=[1, 2, 1, 1])


def test_parameter_counts_equal_mmagics():
    """From MMagic 1.2.0's cain_net.py by hand: 663,744 conv_first + 5 groups × (12 × 668,748 + 331,968) +
    331,968 conv_last; flavr_net.py (the config's FLAVRNet): encoder 33,854,912, decoder 8,180,864,
    feature_fuse 16,384, conv_last 9,411."""
    assert _parameters(dict(type="CAINNet")) == 42_780_432
    assert _parameters(dict(type="FLAVRNet", num_input_frames=4, num_output_frames=1,
                            mid_channels_list=[512, 256, 128, 64], encoder_layers_list=[2, 2, 2, 2], bias=False,
                            norm_cfg=None, join_type="concat", up_mode="transpose")) == 42_061_571


def mmagic_cain_keys(mid: int, groups: int, layers: int, reduction: int) -> dict:
    """CAINNet: conv_first over both frames' unshuffled channels, ResidualGroup(body of
    ResidualChannelAttention(body = [ConvNormWithReflectionPad, act, ConvNorm..., ChannelAttentionLayer]),
    conv_after_body), conv_last."""
    keys = {**_conv("conv_first", mid, 2 * mid, 3), **_conv("conv_last", mid, mid, 3)}
    for group, layer in itertools.product(range(groups), range(layers)):
        prefix = f"body.{group}.body.{layer}.body"
        keys.update({**_conv(f"{prefix}.0.conv", mid, mid, 3), **_conv(f"{prefix}.2.conv", mid, mid, 3),
                     **_conv(f"{prefix}.3.channel_attention.0", mid // reduction, mid, 1),
                     **_conv(f"{prefix}.3.channel_attention.2", mid, mid // reduction, 1)})
    for group in range(groups):
        keys.update(_conv(f"body.{group}.conv_after_body.conv", mid, mid, 3))
    return keys


def _conv3d(name: str, out_c: int, in_c: int, kernel: tuple, bias: bool = True, transposed: bool = False) -> dict:
    shape = (in_c, out_c, *kernel) if transposed else (out_c, in_c, *kernel)
    return {f"{name}.weight": shape, **({f"{name}.bias": (out_c,)} if bias else {})}


def _gate(name: str, channels: int) -> dict:
    return _conv3d(f"{name}.attn_layer.0", channels, channels, (1, 1, 1))


def mmagic_flavr_keys(channels: list, layers: list, frames: int) -> dict:
    """FLAVRNet (norm_cfg=None, bias=False): encoder stem/layer1-4 of BasicBlocks (ConvModule conv1/conv2,
    SEGating fg, ConvModule downsample when the width or stride changes), decoder Conv3d/UpConv3d with
    SEGating, feature_fuse ConvModule, conv_last (ReflectionPad2d, Conv2d)."""
    widths = channels[::-1]
    keys = _conv3d("encoder.stem_layer.conv", widths[0], 3, (3, 7, 7), bias=False)
    in_c = widths[0]
    for stage, (width, count) in enumerate(zip(widths, layers), start=1):
        for block in range(count):
            prefix = f"encoder.layer{stage}.{block}"
            keys.update({**_conv3d(f"{prefix}.conv1.conv", width, in_c, (3, 3, 3), bias=False),
                         **_conv3d(f"{prefix}.conv2.conv", width, width, (3, 3, 3), bias=False),
                         **_gate(f"{prefix}.fg", width)})
            if block == 0 and (stage in (2, 3) or in_c != width):
                keys.update(_conv3d(f"{prefix}.downsample.conv", width, in_c, (1, 1, 1), bias=False))
            in_c = width
    c = channels
    for name, (in_c, out_c), transposed in (("layer0", (c[0], c[1]), False), ("layer1", (2 * c[1], c[2]), True),
                                            ("layer2", (2 * c[2], c[3]), True), ("layer3", (2 * c[3], c[3]), False),
                                            ("layer4", (2 * c[3], c[3]), True)):
        kernel = (3, 4, 4) if transposed else (3, 3, 3)
        inner = "upconv" if transposed else "conv"
        keys.update({**_conv3d(f"decoder.{name}.{inner}.0", out_c, in_c, kernel, transposed=transposed),
                     **_gate(f"decoder.{name}.{inner}.1", out_c)})
    keys["feature_fuse.conv.weight"] = (c[3], c[3] * frames, 1, 1)
    return {**keys, **_conv("conv_last.1", 3, c[3], 7)}


@pytest.mark.parametrize("cfg, expected", [
    (TINY_CAIN, mmagic_cain_keys(12, 2, 1, 4)),
    (TINY_FLAVR, mmagic_flavr_keys([16, 8, 8, 8], [1, 2, 1, 1], 4)),
], ids=["CAINNet", "FLAVRNet"])
def test_state_dict_keys_are_mmagics(cfg, expected):
    net = build(cfg, "model")
    assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == expected


def test_cain_channel_attention_and_unshuffle_match_their_definitions():
    """CA(x) = x · σ(W2 relu(W1 mean(x) + b1) + b2); CAIN's pixel unshuffle takes channel c·s² + i·s + j
    from pixel (s·y + i, s·x + j) (MMagic's view/permute), and the trunk sees both frames that way."""
    from mgx.plugins.models.cain.cain_net import ChannelAttentionLayer

    torch.manual_seed(0)
    layer = ChannelAttentionLayer(8, reduction=4).double()
    x = torch.randn(2, 8, 3, 5, dtype=torch.float64)
    w1, b1 = layer.channel_attention[0].weight[:, :, 0, 0].detach().numpy(), layer.channel_attention[0].bias.detach().numpy()
    w2, b2 = layer.channel_attention[2].weight[:, :, 0, 0].detach().numpy(), layer.channel_attention[2].bias.detach().numpy()
    mean = x.numpy().mean(axis=(2, 3))
    gate = 1 / (1 + np.exp(-(np.maximum(mean @ w1.T + b1, 0) @ w2.T + b2)))
    np.testing.assert_allclose(layer(x).detach().numpy(), x.numpy() * gate[:, :, None, None], atol=1e-12)

    net = build(dict(TINY_CAIN, depth=2), "model").double()
    frames = torch.randn(1, 2, 3, 8, 8, dtype=torch.float64)
    captured = {}
    net.conv_first.register_forward_pre_hook(lambda module, args: captured.update(x=args[0]))
    net(frames)
    centred = (frames - frames.mean((3, 4), keepdim=True)).numpy()[0]
    s, expected = 4, np.zeros((2 * 3 * 16, 2, 2))
    for frame, c, i, j, y, xx in itertools.product(range(2), range(3), range(s), range(s), range(2), range(2)):
        expected[frame * 48 + c * 16 + i * s + j, y, xx] = centred[frame, c, s * y + i, s * xx + j]
    np.testing.assert_allclose(captured["x"].numpy()[0], expected, atol=1e-12)


@pytest.mark.parametrize("cfg", [TINY_CAIN, TINY_FLAVR], ids=["CAINNet", "FLAVRNet"])
def test_interpolators_shift_with_the_frames_mean(cfg):
    """Both networks remove the frames' per-channel mean and add it back: f(x + c) = f(x) + c (float64)."""
    torch.manual_seed(1)
    net = build(cfg, "model").double().eval()
    frames = torch.randn(1, 4 if cfg is TINY_FLAVR else 2, 3, 16, 16, dtype=torch.float64)
    shift = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64).view(1, 1, 3, 1, 1)
    with torch.no_grad():
        np.testing.assert_allclose(net(frames + shift).numpy(), (net(frames) + shift[:, 0]).numpy(), atol=1e-10)


def test_cain_padding_reflects_to_the_power_of_two_and_back():
    from mgx.plugins.models.cain.cain_net import padding_functions

    x = torch.arange(2 * 3 * 5 * 7, dtype=torch.float64).view(2, 3, 5, 7)
    pad, depad = padding_functions(x, padding=3)  # to multiples of 8: 3 rows (1 up, 2 down), 1 column right
    padded = pad(x)
    assert padded.shape[-2:] == (8, 8)
    assert torch.equal(padded[..., 0, :7], x[..., 1, :])  # reflection above the first row
    assert torch.equal(depad(padded), x)
    net = build(TINY_CAIN, "model").double().eval()
    frames = torch.rand(1, 2, 3, 10, 14, dtype=torch.float64)
    with torch.no_grad():
        assert net(frames, padding_flag=True).shape == (1, 3, 10, 14)


def test_basic_interpolator_windows_and_merge():
    model = build(dict(type="BasicInterpolator", generator=TINY_CAIN, pixel_loss=dict(type="L1Loss"),
                       required_frames=2, step_frames=1), "model")
    video = torch.arange(5, dtype=torch.float32).view(1, 5, 1, 1, 1).expand(1, 5, 3, 2, 2)
    windows = model.split_frames(video)
    assert windows.shape == (4, 2, 3, 2, 2) and windows[:, :, 0, 0, 0].tolist() == [[0, 1], [1, 2], [2, 3], [3, 4]]
    outputs = windows.mean(1, keepdim=True)
    merged = [float(frame[0, 0, 0]) for frame in model.merge_frames(windows, outputs)]
    assert merged == [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4]
    flavr = build(dict(type="FLAVR", generator=TINY_FLAVR, pixel_loss=dict(type="L1Loss"), required_frames=4), "model")
    windows = flavr.split_frames(video)
    merged = [float(f[0, 0, 0]) for f in flavr.merge_frames(windows, windows[:, 1:3].mean(1, keepdim=True))]
    assert merged == [0, 1, 1.5, 2, 2.5, 3, 4]
    # TOFlow's preprocessor pads 20×24 frames to 32×32 (reflect) for the SPyNet; the frame comes back at 20×24
    tof = build(dict(type="BasicInterpolator", generator=dict(type="TOFlowVFINet"), pixel_loss=dict(type="L1Loss"),
                     data_preprocessor=dict(type="DataPreprocessor", mean=[120.0] * 3, std=[60.0] * 3,
                                            pad_size_divisor=16, pad_mode="reflect")), "model")
    batch = {"inputs": torch.randint(0, 256, (1, 2, 3, 20, 24), dtype=torch.uint8),
             "gt_img": torch.randint(0, 256, (1, 3, 20, 24), dtype=torch.uint8)}
    frames = (batch["inputs"].float() - 120) / 60
    padded = torch.nn.functional.pad(frames.flatten(0, 1), (0, 8, 0, 12), mode="reflect").view(1, 2, 3, 32, 32)
    with torch.no_grad():
        expected = (tof.generator(padded)[..., :20, :24] * 60 + 120).clamp(0, 255)
    outputs = tof.val_step(batch)
    torch.testing.assert_close(outputs["pred_img"], expected)
    assert outputs["gt_img"] is batch["gt_img"]
    with pytest.raises(ConfigError, match="required_frames"):
        build(dict(type="CAIN", generator=TINY_CAIN, pixel_loss=dict(type="L1Loss"), required_frames=0), "model")


def test_color_jitter_follows_the_definitions_and_draws_once_per_sample():
    """brightness: x·f; contrast: blend with the mean grey level; saturation: blend with the grey image
    (ITU-R 601-2 luma, 8-bit as PIL makes it) — float64, within PIL's rounding of the result (a factor
    range [f, f] fixes the draw); every frame and key of a sample gets one draw."""
    from mgx.plugins.data.augment_transforms import ColorJitter

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (6, 7, 3), dtype=np.uint8)
    pixels = image.astype(np.float64)
    grey = np.floor(pixels @ np.array([0.299, 0.587, 0.114]) + 0.5)  # PIL's 8-bit grey image
    definitions = {"brightness": lambda f: f * pixels,
                   "contrast": lambda f: f * pixels + (1 - f) * np.floor(grey.mean() + 0.5),
                   "saturation": lambda f: f * pixels + (1 - f) * grey[..., None]}
    for (name, definition), factor in itertools.product(definitions.items(), (0.6, 1.4)):
        jitter = ColorJitter(keys=["img"], **{name: (factor, factor)})
        out = jitter({"img": image.copy(), "sample_idx": 0, "seed": 1})["img"].astype(np.float64)
        assert np.abs(out - np.clip(definition(factor), 0, 255)).max() <= 1.0, (name, factor)
    jitter = ColorJitter(keys=["img", "gt"], brightness=0.5, contrast=0.5, saturation=0.5, hue=0.1)
    sample = jitter({"img": [image, image.copy()], "gt": image.copy(), "sample_idx": 3, "seed": 1})
    assert np.array_equal(sample["img"][0], sample["img"][1]) and np.array_equal(sample["img"][0], sample["gt"])
    assert not np.array_equal(sample["gt"], image)
    with pytest.raises(ConfigError, match="hue"):
        ColorJitter(keys=["img"], hue=0.7)


@pytest.mark.timeout(300)
def test_cain_config_trains_and_tests(tmp_path, monkeypatch):
    """MMagic's CAIN config (EpochBasedTrainLoop, ReduceLR on the validation MAE, FixedCrop, ColorJitter,
    TemporalReverse) for 2 iterations (one epoch of 2 triplets), then `mgx run test` on a checkpoint in
    MMagic's layout: PSNR/SSIM/MAE on the interpolated frame."""
    width = [f"model.generator.{k}={v}" for k, v in TINY_CAIN.items() if k != "type"]
    metrics = _train_then_test_mmagic_layout(tmp_path, CONFIGS / "cain/cain_g1b32_1xb5_vimeo90k-triplet.py", width,
                                             monkeypatch, by_epoch=True)
    assert np.isfinite(metrics["PSNR"]) and -1 <= metrics["SSIM"] <= 1 and metrics["MAE"] > 0, metrics
    # ReduceLR took one step on the epoch's validation MAE (the checkpoint's plateau state, then the hook's)
    plateau, hook = torch.load(tmp_path / "work" / "epoch_1.pth", weights_only=False)["schedulers"][-2:]
    assert plateau["last_step"] == 1 and plateau["best"] == pytest.approx(metrics["MAE"], rel=1e-6)
    assert hook == {"total": 0.0, "count": 0}


@pytest.mark.timeout(300)
def test_flavr_config_trains_and_tests(tmp_path, monkeypatch):
    width = ["model.generator.mid_channels_list=[16,8,8,8]", "model.generator.encoder_layers_list=[1,1,1,1]"]
    metrics = _train_then_test_mmagic_layout(tmp_path, CONFIGS / "flavr/flavr_in4out1_8xb4_vimeo90k-septuplet.py",
                                             width, monkeypatch, by_epoch=True)
    assert np.isfinite(metrics["PSNR"]) and -1 <= metrics["SSIM"] <= 1 and metrics["MAE"] > 0, metrics
