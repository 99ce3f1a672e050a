"""TDAN and TOFlow: MMagic's state-dict keys and parameter counts, the unmodulated deformable convolution
against a float64 computation of its definition, TDAN's alignment loss, and one config of each through
the CLI (in-process) on synthetic clips in MMagic's layouts (benchmarks/zoo_data), tested on checkpoints in
MMagic's layout."""
import itertools
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mgx.core.engine.optim import build_optim_wrappers
from mgx.core.registry import build
from mgx.plugins.models.ops.deform_conv import AugmentedDeformConv2dPack, DeformConv2dPack

sys.path.insert(0, str(Path(__file__).parent))
from gan_zoo_helpers import run_ok  # noqa: E402
from test_basicvsr import _conv, bilinear_at  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[2] / "tests" / "mmagic" / "configs"


def _parameters(cfg: dict) -> int:
    with torch.device("meta"):  # the count only: no memory, no init time
        return sum(p.numel() for p in build(cfg, "model").parameters())


def test_parameter_counts_equal_mmagics():
    """Counted from MMagic 1.2.0's definitions (tdan_net.py, tof_vsr_net.py, tof_vfi_net.py) by hand:
    TDANNet 371,072 extraction + 313,696 aggregation + 2×119,952 alignment + 1,731 to_rgb + 1,044,416
    reconstruction; TOFlowVSRNet 4×240,194 batch-normalised SPyNet levels + 445,123; TOFlowVFINet
    4×240,050 SPyNet levels + 35,523."""
    assert _parameters(dict(type="TDANNet")) == 1_970_819
    assert _parameters(dict(type="TOFlowVSRNet", adapt_official_weights=True)) == 1_405_899
    assert _parameters(dict(type="TOFlowVFINet", flow_cfg=dict(norm_cfg=None, pretrained=None))) == 995_723


def _deform_pack(name: str, mid: int, groups: int = 8) -> dict:
    """mmcv's DeformConv2dPack: ``weight`` (no bias) and the offset conv of groups·2·9 outputs."""
    return {f"{name}.weight": (mid, mid, 3, 3), **_conv(f"{name}.conv_offset", groups * 18, mid, 3)}


def mmagic_tdan_keys(mid: int, before: int, after: int) -> dict:
    """MMagic's TDANNet: feat_extract = (ConvModule, blocks), feat_aggregate = (conv, 2 DeformConv2dPack),
    align_1/align_2, to_rgb, reconstruct = (ConvModule over 15 channels, blocks, 2 PixelShufflePack, conv)."""
    keys = {"feat_extract.0.conv.weight": (mid, 3, 3, 3), "feat_extract.0.conv.bias": (mid,),
            **_conv("feat_aggregate.0", mid, 2 * mid, 3), **_deform_pack("feat_aggregate.1", mid),
            **_deform_pack("feat_aggregate.2", mid), **_deform_pack("align_1", mid), **_deform_pack("align_2", mid),
            **_conv("to_rgb", 3, mid, 3), "reconstruct.0.conv.weight": (mid, 15, 3, 3), "reconstruct.0.conv.bias": (mid,),
            **_conv("reconstruct.2.upsample_conv", 4 * mid, mid, 3), **_conv("reconstruct.3.upsample_conv", 4 * mid, mid, 3),
            "reconstruct.4.weight": (3, mid, 3, 3)}
    for prefix, count in (("feat_extract.1", before), ("reconstruct.1", after)):
        for block, conv in itertools.product(range(count), ("conv1", "conv2")):
            keys.update(_conv(f"{prefix}.{block}.{conv}", mid, mid, 3))
    return keys


def mmagic_tof_spynet_keys(batch_norm: bool) -> dict:
    """TOFlow's SPyNet: 4 levels of 5 ConvModules (7×7); with BN the first four have ``bn`` and no conv bias."""
    widths, keys = (8, 32, 64, 32, 16, 2), {}
    for level, layer in itertools.product(range(4), range(5)):
        prefix = f"spynet.basic_module.{level}.basic_module.{layer}"
        keys[f"{prefix}.conv.weight"] = (widths[layer + 1], widths[layer], 7, 7)
        if batch_norm and layer < 4:
            for name in ("weight", "bias", "running_mean", "running_var"):
                keys[f"{prefix}.bn.{name}"] = (widths[layer + 1],)
            keys[f"{prefix}.bn.num_batches_tracked"] = ()
        else:
            keys[f"{prefix}.conv.bias"] = (widths[layer + 1],)
    return keys


@pytest.mark.parametrize("cfg, expected", [
    (dict(type="TDANNet", mid_channels=8, num_blocks_before_align=1, num_blocks_after_align=2),
     mmagic_tdan_keys(8, 1, 2)),
    (dict(type="TOFlowVSRNet"), {**mmagic_tof_spynet_keys(True), **_conv("conv1", 64, 21, 9), **_conv("conv2", 64, 64, 9),
                                 **_conv("conv3", 64, 64, 1), **_conv("conv4", 3, 64, 1)}),
    (dict(type="TOFlowVFINet"), {"mean": (1, 3, 1, 1), "std": (1, 3, 1, 1), **mmagic_tof_spynet_keys(False),
                                 **_conv("resnet.res_block.0", 64, 6, 9), **_conv("resnet.res_block.2", 64, 64, 1),
                                 **_conv("resnet.res_block.4", 3, 64, 1)}),
], ids=["TDANNet", "TOFlowVSRNet", "TOFlowVFINet"])
def test_state_dict_keys_are_mmagics(cfg, expected):
    net = build(cfg, "model")
    assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == expected


@pytest.mark.parametrize("augmented", [False, True])
def test_deformable_conv_matches_its_definition(augmented):
    """out(p) = Σ_g Σ_k w_gk · x_g(p + p_k + Δ_gk(p)) (no bias, no mask), Δ = conv_offset(x or extra)."""
    torch.manual_seed(0)
    kind = AugmentedDeformConv2dPack if augmented else DeformConv2dPack
    layer = kind(4, 3, 3, padding=1, deform_groups=2).double()
    torch.nn.init.normal_(layer.conv_offset.weight, std=0.5)  # offsets of a pixel or so
    x = torch.randn(1, 4, 5, 6, dtype=torch.float64)
    extra = torch.randn(1, 4, 5, 6, dtype=torch.float64)
    out = (layer(x, extra) if augmented else layer(x)).detach().numpy()[0]
    offsets = layer.conv_offset(extra if augmented else x).detach().numpy()[0]
    weight, xs = layer.weight.detach().numpy(), x.numpy()[0]
    expected = np.zeros((3, 5, 6))
    for i, j, channel, tap in itertools.product(range(5), range(6), range(4), range(9)):
        group = channel // 2  # 2 input channels per deformable group
        index = group * 9 + tap
        dy, dx = offsets[2 * index, i, j], offsets[2 * index + 1, i, j]
        sample = bilinear_at(xs[channel:channel + 1], i - 1 + tap // 3 + dy, j - 1 + tap % 3 + dx)[0]
        expected[:, i, j] += weight[:, channel, tap // 3, tap % 3] * sample
    np.testing.assert_allclose(out, expected, atol=1e-10)


def test_tdan_adds_the_alignment_loss_of_every_frame_to_the_centre():
    model = build(dict(type="TDAN", generator=dict(type="TDANNet", mid_channels=8, num_blocks_before_align=1,
                                                   num_blocks_after_align=1),
                       pixel_loss=dict(type="MSELoss", loss_weight=1.0), lq_pixel_loss=dict(type="MSELoss", loss_weight=0.01),
                       data_preprocessor=dict(type="DataPreprocessor", mean=[127.5] * 3, std=[255.0] * 3)), "model")
    optim = build_optim_wrappers(dict(optimizer=dict(type="Adam", lr=0.0)), model, device=torch.device("cpu"), amp=False)
    batch = {"inputs": torch.randint(0, 256, (2, 5, 3, 8, 8), dtype=torch.uint8),
             "gt_img": torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)}
    losses = model.train_step(batch, optim)
    lqs = batch["inputs"].double() / 255 - 0.5
    with torch.no_grad():
        output, aligned = model.generator(lqs.float())
    assert torch.equal(aligned[:, 2], lqs[:, 2].float())  # the centre frame passes through
    expected_lq = 0.01 * ((aligned.double() - lqs[:, 2:3]) ** 2).mean()
    expected_hr = ((output.double() - (batch["gt_img"].double() / 255 - 0.5)) ** 2).mean()
    assert float(losses["loss_pix_lq"]) == pytest.approx(float(expected_lq), rel=1e-5)
    assert float(losses["loss"]) == pytest.approx(float(expected_lq + expected_hr), rel=1e-5)
    assert model.val_step(batch)["pred_img"].shape == (2, 3, 32, 32)


def _mmagic_layout(mgx_checkpoint: Path, path: Path) -> Path:
    """An mgx checkpoint's weights in MMagic's layout (``state_dict`` with ``generator.`` keys, ``meta``)."""
    weights = torch.load(mgx_checkpoint, map_location="cpu", weights_only=False)["model"]
    torch.save({"meta": {"mmagic_version": "1.2.0"}, "state_dict": dict(weights)}, path)
    return path


def _trial(tmp_path: Path, config: Path, monkeypatch, side: int = 32) -> list[str]:
    """The config's data written by benchmarks/zoo_data (MMagic's layouts, stand-in pretrained files) and
    its trial overrides, with no loader worker processes for two samples."""
    from mgx.benchmarks.zoo_data import Sizes, prepare_trial
    from mgx.benchmarks.zoo_data.options import loaders
    from mgx.core.config import load_config

    monkeypatch.setenv("MGX_OFFLINE", "1")
    cfg = load_config(config)
    trial = prepare_trial(cfg, tmp_path, Sizes(crop=side, image=side))
    for key, value in trial.env.items():
        monkeypatch.setenv(key, value)
    return [*trial.options, *(f"{path}.num_workers=0" for path, _ in loaders(cfg))]


def _train_then_test_mmagic_layout(tmp_path: Path, config: Path, width: list[str], monkeypatch,
                                   by_epoch: bool = False) -> dict:
    """2 training iterations (an epoch-based config: one epoch of the 2 samples, one a batch), then
    `mgx run test` on the weights in MMagic's checkpoint layout."""
    options = [*_trial(tmp_path, config, monkeypatch), "train_dataloader.batch_size=1", *width]
    work = tmp_path / "work"
    run_ok(["run", "train", str(config), "--work-dir", str(work), "--no-track", "--cfg-options", *options],
           tmp_path, monkeypatch)
    assert list((work / "samples").glob("*.png")), "the validation sample grid was not written"
    checkpoint = _mmagic_layout(work / ("epoch_1.pth" if by_epoch else "iter_2.pth"), tmp_path / "mmagic_layout.pth")
    run_ok(["run", "test", str(config), str(checkpoint), "--work-dir", str(tmp_path / "test"), "--no-track",
            "--cfg-options", *options], tmp_path, monkeypatch)
    return json.loads((tmp_path / "test" / "test_results.json").read_text())["metrics"]


@pytest.mark.timeout(300)
def test_tdan_config_trains_and_tests_on_vimeo_spmcs_and_vid4(tmp_path, monkeypatch):
    width = ["model.generator.mid_channels=8", "model.generator.num_blocks_before_align=1",
             "model.generator.num_blocks_after_align=1"]
    metrics = _train_then_test_mmagic_layout(tmp_path, CONFIGS / "tdan/tdan_x4_8xb16-lr1e-4-400k_vimeo90k-bd.py",
                                             width, monkeypatch)
    for prefix in ("SPMCS-BDx4-Y", "SPMCS-BIx4-Y", "VID4-BDx4-Y", "VID4-BIx4-Y"):
        assert np.isfinite(metrics[f"{prefix}/PSNR"]) and -1 <= metrics[f"{prefix}/SSIM"] <= 1, metrics


@pytest.mark.timeout(300)
def test_tof_interpolation_config_trains_and_tests_with_a_stand_in_spynet_file(tmp_path, monkeypatch):
    """flow_cfg.pretrained (MMagic's URL) pointed at a file of MMagic's layout, as a user's download."""
    metrics = _train_then_test_mmagic_layout(tmp_path, CONFIGS / "tof/tof_spynet-chair-wobn_1xb1_vimeo90k-triplet.py",
                                             [], monkeypatch)
    assert np.isfinite(metrics["PSNR"]) and -1 <= metrics["SSIM"] <= 1 and metrics["MAE"] > 0, metrics


@pytest.mark.timeout(300)
def test_tof_official_vsr_config_tests_an_mmagic_checkpoint(tmp_path, monkeypatch):
    """The test-only config (EDVR model, TOFlowVSRNet with the official frame order) on Vid4's pre-upsampled
    ``BIx4up_direct`` frames, 7-frame windows padded by 'reflection_circle'; its checkpoint in MMagic's
    layout (no step_counter)."""
    config = CONFIGS / "tof/tof_x4_official_vimeo90k.py"
    options = _trial(tmp_path, config, monkeypatch, side=16)  # TOFlow's SPyNet reads multiples of 16
    net = build(dict(type="TOFlowVSRNet", adapt_official_weights=True), "model")
    torch.save({"state_dict": {f"generator.{k}": v for k, v in net.state_dict().items()}}, tmp_path / "tof.pth")
    run_ok(["run", "test", str(config), str(tmp_path / "tof.pth"), "--work-dir", str(tmp_path / "test"), "--no-track",
            "--cfg-options", *options], tmp_path, monkeypatch)
    metrics = json.loads((tmp_path / "test" / "test_results.json").read_text())["metrics"]
    assert np.isfinite(metrics["PSNR"]) and -1 <= metrics["SSIM"] <= 1, metrics
