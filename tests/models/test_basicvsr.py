"""BasicVSR / BasicVSR++: flow warping and deformable alignment against float64 computations of their
definitions, MMagic's state-dict keys, the fix_iter schedule, and MMagic's configs through the CLI on
synthetic clips in MMagic's folder layouts (benchmarks/zoo_data/frames.py)."""
import itertools
import shutil
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mgx.core.engine.optim import build_optim_wrappers
from mgx.core.registry import build
from mgx.plugins.models.basicvsr_plusplus_net import SecondOrderDeformableAlignment
from mgx.plugins.models.ops.flow import SPyNet, flow_warp

sys.path.insert(0, str(Path(__file__).parent))
from nested_equal import assert_identical  # noqa: E402
from mgx.benchmarks.zoo_data.frames import write_decompression_clips, write_video_layouts

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "tests" / "mmagic" / "configs"


def bilinear_at(image: np.ndarray, y: float, x: float, border: bool = False) -> np.ndarray:
    """Bilinear sample of C×H×W ``image`` at (y, x); outside taps are zero (or clamped with ``border``)."""
    channels, height, width = image.shape
    if border:
        y, x = min(max(y, 0.0), height - 1.0), min(max(x, 0.0), width - 1.0)
    y0, x0 = int(np.floor(y)), int(np.floor(x))
    value = np.zeros(channels)
    for yy, xx in ((y0, x0), (y0, x0 + 1), (y0 + 1, x0), (y0 + 1, x0 + 1)):
        weight = (1 - abs(y - yy)) * (1 - abs(x - xx))
        if 0 <= yy < height and 0 <= xx < width and weight > 0:
            value += weight * image[:, yy, xx]
    return value


@pytest.mark.parametrize("padding_mode", ["zeros", "border"])
def test_flow_warp_matches_float64_bilinear(padding_mode):
    rng = np.random.default_rng(1)
    image = rng.normal(size=(2, 3, 5, 6))
    flow = rng.uniform(-2.5, 2.5, size=(2, 5, 6, 2))
    warped = flow_warp(torch.tensor(image, dtype=torch.float32), torch.tensor(flow, dtype=torch.float32),
                       padding_mode=padding_mode).double().numpy()
    for n, i, j in itertools.product(range(2), range(5), range(6)):
        expected = bilinear_at(image[n], i + flow[n, i, j, 1], j + flow[n, i, j, 0], padding_mode == "border")
        np.testing.assert_allclose(warped[n, :, i, j], expected, atol=2e-5)


def test_deformable_alignment_matches_its_definition():
    """out(p) = b + Σ_g Σ_k w_gk · m_gk(p) · x_g(p + p_k + Δ_gk(p)), Δ = flow + 10·tanh(residue)."""
    torch.manual_seed(0)
    align = SecondOrderDeformableAlignment(16, 8, 3, padding=1, deform_groups=16, max_residue_magnitude=10).double()
    torch.nn.init.normal_(align.conv_offset[-1].weight, std=0.05)  # non-zero residues and masks
    x, extra = torch.randn(1, 16, 5, 6, dtype=torch.float64), torch.randn(1, 24, 5, 6, dtype=torch.float64)
    flow_1, flow_2 = torch.randn(1, 2, 5, 6, dtype=torch.float64), torch.randn(1, 2, 5, 6, dtype=torch.float64)
    out = align(x, extra, flow_1, flow_2).detach().numpy()
    # the offsets: the residue head's raw output, by the paper's equations
    raw = align.conv_offset(torch.cat([extra, flow_1, flow_2], 1)).detach().numpy()[0]
    residue, mask = 10 * np.tanh(raw[:2 * 9 * 16]), 1 / (1 + np.exp(-raw[2 * 9 * 16:]))
    flows = [flow_1.numpy()[0], flow_2.numpy()[0]]
    weight, bias, xs = align.weight.detach().numpy(), align.bias.detach().numpy(), x.numpy()[0]
    expected = np.zeros((8, 5, 6))
    for i, j in itertools.product(range(5), range(6)):
        total = bias.copy()
        for group, tap in itertools.product(range(16), range(9)):
            flow = flows[group // 8][:, i, j]  # groups 0-7 follow flow_1, 8-15 flow_2
            index = group * 9 + tap
            dy, dx = residue[2 * index, i, j] + flow[1], residue[2 * index + 1, i, j] + flow[0]
            sample = bilinear_at(xs[group:group + 1], i - 1 + tap // 3 + dy, j - 1 + tap % 3 + dx)[0]
            total += weight[:, group, tap // 3, tap % 3] * mask[index, i, j] * sample
        expected[:, i, j] = total
    np.testing.assert_allclose(out[0], expected, atol=1e-9)


def _spynet_keys() -> dict:
    widths = (8, 32, 64, 32, 16, 2)
    keys = {"spynet.mean": (1, 3, 1, 1), "spynet.std": (1, 3, 1, 1)}
    for level, layer in itertools.product(range(6), range(5)):
        prefix = f"spynet.basic_module.{level}.basic_module.{layer}.conv"
        keys[f"{prefix}.weight"] = (widths[layer + 1], widths[layer], 7, 7)
        keys[f"{prefix}.bias"] = (widths[layer + 1],)
    return keys


def _resblocks_keys(prefix: str, in_channels: int, mid: int, blocks: int) -> dict:
    keys = {f"{prefix}.main.0.weight": (mid, in_channels, 3, 3), f"{prefix}.main.0.bias": (mid,)}
    for block, conv in itertools.product(range(blocks), ("conv1", "conv2")):
        keys[f"{prefix}.main.2.{block}.{conv}.weight"] = (mid, mid, 3, 3)
        keys[f"{prefix}.main.2.{block}.{conv}.bias"] = (mid,)
    return keys


def _head_keys(mid: int) -> dict:
    return {"upsample1.upsample_conv.weight": (4 * mid, mid, 3, 3), "upsample1.upsample_conv.bias": (4 * mid,),
            "upsample2.upsample_conv.weight": (256, mid, 3, 3), "upsample2.upsample_conv.bias": (256,),
            "conv_hr.weight": (64, 64, 3, 3), "conv_hr.bias": (64,), "conv_last.weight": (3, 64, 3, 3),
            "conv_last.bias": (3,)}


def mmagic_basicvsr_keys(mid: int, blocks: int) -> dict:
    """MMagic 1.2.0 BasicVSRNet's state dict (basicvsr_net.py: SPyNet of ConvModules, two
    ResidualBlocksWithInputConv of mid+3 inputs, a 1×1 fusion, the ×4 head)."""
    return {**_spynet_keys(), **_resblocks_keys("backward_resblocks", mid + 3, mid, blocks),
            **_resblocks_keys("forward_resblocks", mid + 3, mid, blocks), "fusion.weight": (mid, 2 * mid, 1, 1),
            "fusion.bias": (mid,), **_head_keys(mid)}


def mmagic_basicvsr_pp_keys(mid: int, blocks: int, low_res: bool = True) -> dict:
    """MMagic 1.2.0 BasicVSRPlusPlusNet's: feat_extract (5 blocks; for full-size input two stride-2 convs
    first, a Sequential), per branch a ModulatedDeformConv2d (weight, bias) with its 4-conv conv_offset
    and a backbone of (2+i)·mid inputs, reconstruction over 5·mid, the ×4 head."""
    if low_res:
        extract = _resblocks_keys("feat_extract", 3, mid, 5)
    else:
        extract = {"feat_extract.0.weight": (mid, 3, 3, 3), "feat_extract.0.bias": (mid,),
                   "feat_extract.2.weight": (mid, mid, 3, 3), "feat_extract.2.bias": (mid,),
                   **_resblocks_keys("feat_extract.4", mid, mid, 5)}
    keys = {**_spynet_keys(), **extract, **_resblocks_keys("reconstruction", 5 * mid, mid, 5), **_head_keys(mid)}
    for index, branch in enumerate(("backward_1", "forward_1", "backward_2", "forward_2")):
        prefix = f"deform_align.{branch}"
        keys.update({f"{prefix}.weight": (mid, 2 * mid, 3, 3), f"{prefix}.bias": (mid,)})
        for layer, (out_c, in_c) in zip((0, 2, 4, 6), ((mid, 3 * mid + 4), (mid, mid), (mid, mid), (27 * 16, mid))):
            keys[f"{prefix}.conv_offset.{layer}.weight"] = (out_c, in_c, 3, 3)
            keys[f"{prefix}.conv_offset.{layer}.bias"] = (out_c,)
        keys.update(_resblocks_keys(f"backbone.{branch}", (2 + index) * mid, mid, blocks))
    return keys


def _conv_module(name: str, out_c: int, in_c: int, kernel: int) -> dict:
    return {f"{name}.conv.weight": (out_c, in_c, kernel, kernel), f"{name}.conv.bias": (out_c,)}


def _conv(name: str, out_c: int, in_c: int, kernel: int) -> dict:
    return {f"{name}.weight": (out_c, in_c, kernel, kernel), f"{name}.bias": (out_c,)}


def mmagic_edvr_extractor_keys(mid: int, frames: int, groups: int = 8) -> dict:
    """MMagic's EDVRFeatureExtractor (iconvsr_net.py, with edvr_net.py's PCDAlignment/TSAFusion; ConvModules
    keep ``.conv``; ModulatedDCNPack: weight, bias, conv_offset of groups·27 outputs)."""
    keys = {**_conv("edvr.conv_first", mid, 3, 3)}
    for block, conv in itertools.product(range(5), ("conv1", "conv2")):
        keys.update(_conv(f"edvr.feature_extraction.{block}.{conv}", mid, mid, 3))
    for name in ("feat_l2_conv1", "feat_l2_conv2", "feat_l3_conv1", "feat_l3_conv2"):
        keys.update(_conv_module(f"edvr.{name}", mid, mid, 3))
    pcd = "edvr.pcd_alignment"
    for level in ("l3", "l2", "l1"):
        keys.update(_conv_module(f"{pcd}.offset_conv1.{level}", mid, 2 * mid, 3))
        keys.update(_conv_module(f"{pcd}.offset_conv2.{level}", mid, mid if level == "l3" else 2 * mid, 3))
        if level != "l3":
            keys.update(_conv_module(f"{pcd}.offset_conv3.{level}", mid, mid, 3))
            keys.update(_conv_module(f"{pcd}.feat_conv.{level}", mid, 2 * mid, 3))
        keys.update({**_conv(f"{pcd}.dcn_pack.{level}", mid, mid, 3),
                     **_conv(f"{pcd}.dcn_pack.{level}.conv_offset", groups * 27, mid, 3)})
    keys.update({**_conv_module(f"{pcd}.cas_offset_conv1", mid, 2 * mid, 3),
                 **_conv_module(f"{pcd}.cas_offset_conv2", mid, mid, 3), **_conv(f"{pcd}.cas_dcnpack", mid, mid, 3),
                 **_conv(f"{pcd}.cas_dcnpack.conv_offset", groups * 27, mid, 3)})
    tsa = "edvr.fusion"
    keys.update({**_conv(f"{tsa}.temporal_attn1", mid, mid, 3), **_conv(f"{tsa}.temporal_attn2", mid, mid, 3),
                 **_conv_module(f"{tsa}.feat_fusion", mid, frames * mid, 1),
                 **_conv_module(f"{tsa}.spatial_attn1", mid, frames * mid, 1),
                 **_conv_module(f"{tsa}.spatial_attn2", mid, 2 * mid, 1),
                 **_conv_module(f"{tsa}.spatial_attn3", mid, mid, 3),
                 **_conv_module(f"{tsa}.spatial_attn4", mid, mid, 1),
                 **_conv(f"{tsa}.spatial_attn5", mid, mid, 3), **_conv_module(f"{tsa}.spatial_attn_l1", mid, mid, 1),
                 **_conv_module(f"{tsa}.spatial_attn_l2", mid, 2 * mid, 3),
                 **_conv_module(f"{tsa}.spatial_attn_l3", mid, mid, 3),
                 **_conv_module(f"{tsa}.spatial_attn_add1", mid, mid, 1),
                 **_conv(f"{tsa}.spatial_attn_add2", mid, mid, 1)})
    return keys


def mmagic_iconvsr_keys(mid: int, blocks: int, padding: int) -> dict:
    """MMagic's IconVSRNet: SPyNet, the EDVR extractor of 2·padding+1 frames, 3×3 fusions of 2·mid, backward
    blocks over mid+3 and forward blocks over 2·mid+3 inputs, the ×4 head."""
    return {**_spynet_keys(), **mmagic_edvr_extractor_keys(mid, 2 * padding + 1),
            **_conv("backward_fusion", mid, 2 * mid, 3), **_conv("forward_fusion", mid, 2 * mid, 3),
            **_resblocks_keys("backward_resblocks", mid + 3, mid, blocks),
            **_resblocks_keys("forward_resblocks", 2 * mid + 3, mid, blocks), **_head_keys(mid)}


@pytest.mark.parametrize("net, expected", [
    (dict(type="IconVSRNet", mid_channels=64, num_blocks=1, padding=3), mmagic_iconvsr_keys(64, 1, 3)),
    (dict(type="BasicVSRNet", mid_channels=8, num_blocks=2), mmagic_basicvsr_keys(8, 2)),
    (dict(type="BasicVSRPlusPlusNet", mid_channels=8, num_blocks=1), mmagic_basicvsr_pp_keys(8, 1)),
    (dict(type="BasicVSRPlusPlusNet", mid_channels=8, num_blocks=1, is_low_res_input=False),
     mmagic_basicvsr_pp_keys(8, 1, low_res=False)),
])
def test_state_dict_keys_are_mmagics(net, expected):
    state = build(net, "model").state_dict()
    assert {k: tuple(v.shape) for k, v in state.items()} == expected


def test_spynet_file_loads_from_a_local_path_and_offline_url_names_the_file(tmp_path, monkeypatch):
    source = SPyNet()
    file = tmp_path / "spynet.pth"
    torch.save({k: v for k, v in source.state_dict().items() if k not in ("mean", "std")}, file)  # MMagic's file
    loaded = SPyNet(pretrained=str(file))
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in source.state_dict().items())
    monkeypatch.setenv("MGX_OFFLINE", "1")
    monkeypatch.setenv("MGX_CACHE_DIR", str(tmp_path / "cache"))
    url = "https://download.openmmlab.com/mmediting/restorers/basicvsr/spynet_20210409-c6c1bd09.pth"
    with pytest.raises(Exception, match="spynet_20210409-c6c1bd09.pth"):
        SPyNet(pretrained=url)


def test_a_weights_download_reports_progress(tmp_path, capsys):
    from mgx.plugins.feature_extractors.weights import download_file

    source = tmp_path / "spynet_source.pth"
    source.write_bytes(bytes(range(256)) * 9000)  # 2.2 MiB: three chunks
    target = download_file(source.as_uri(), tmp_path / "cache" / "spynet.pth")
    assert target.read_bytes() == source.read_bytes()
    assert "downloading spynet.pth: 2.2 of 2.2 MiB" in capsys.readouterr().err


def test_fix_iter_freezes_the_flow_network_then_trains_it():
    model = build(dict(type="BasicVSR", generator=dict(type="BasicVSRNet", mid_channels=8, num_blocks=1),
                       pixel_loss=dict(type="CharbonnierLoss"), train_cfg=dict(fix_iter=1),
                       data_preprocessor=dict(type="DataPreprocessor", mean=[0.0] * 3, std=[255.0] * 3)), "model")
    optim = build_optim_wrappers(dict(optimizer=dict(type="Adam", lr=1e-3)), model, device=torch.device("cpu"),
                                 amp=False)
    batch = {"inputs": torch.randint(0, 256, (1, 3, 3, 8, 8), dtype=torch.uint8),
             "gt_img": torch.randint(0, 256, (1, 3, 3, 32, 32), dtype=torch.uint8)}
    spynet = dict(model.generator.spynet.named_parameters())
    before = {k: v.detach().clone() for k, v in spynet.items()}
    model.train_step(batch, optim)
    assert all(torch.equal(before[k], v) for k, v in spynet.items())  # frozen at step 0
    assert not any(v.requires_grad for v in spynet.values())
    model.train_step(batch, optim)  # step 1 == fix_iter: everything trains
    assert all(v.requires_grad for v in spynet.values())
    assert any(not torch.equal(before[k], v) for k, v in spynet.items())
    assert int(model.step_counter) == 2 and "step_counter" in model.state_dict()


def test_val_step_takes_the_centre_frame_of_a_mirrored_clip_for_one_gt_frame():
    model = build(dict(type="BasicVSR", generator=dict(type="BasicVSRNet", mid_channels=8, num_blocks=1),
                       pixel_loss=None), "model").eval()
    clip = torch.randint(0, 256, (1, 3, 3, 8, 8), dtype=torch.uint8)
    full = model.val_step({"inputs": clip, "gt_img": torch.zeros(1, 3, 3, 32, 32)})["pred_img"]
    assert full.shape == (1, 3, 3, 32, 32)
    mirrored = torch.cat([clip, clip.flip(1)], 1)
    centre = model.val_step({"inputs": mirrored, "gt_img": torch.zeros(1, 3, 32, 32)})["pred_img"]
    outputs = model(mirrored)
    torch.testing.assert_close(centre, 0.5 * (outputs[:, 1] + outputs[:, -2]))


def _mgx(*args, cwd, env):
    return subprocess.run([sys.executable, "-m", "mgx.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)


# config: the pipeline index of its training crop
CASES = {
    "basicvsr_pp/basicvsr-pp_c64n7_8xb1-600k_reds4.py": 4,
    "basicvsr/basicvsr_2xb4_reds4.py": 4,
    "basicvsr/basicvsr_2xb4_vimeo90k-bd.py": 3,
    "basicvsr/basicvsr_2xb4_vimeo90k-bi.py": 3,
    "basicvsr_pp/basicvsr-pp_c64n7_4xb2-300k_vimeo90k-bi.py": 3,
    "basicvsr_pp/basicvsr-pp_c64n7_4xb2-300k_vimeo90k-bd.py": 3,
    "iconvsr/iconvsr_2xb4_reds4.py": 4,
    "iconvsr/iconvsr_2xb4_vimeo90k-bd.py": 3,
    "iconvsr/iconvsr_2xb4_vimeo90k-bi.py": 3,
}
SLOW = set(CASES) - {"basicvsr_pp/basicvsr-pp_c64n7_8xb1-600k_reds4.py"}


def write_run_inputs(root: Path, config: str, frames: int = 3) -> tuple[dict, list[str]]:
    """The clips, a SPyNet file in MMagic's layout (random weights: nothing downloads here), the env."""
    write_video_layouts(root, frames=frames, size=32)
    spynet = root / "spynet.pth"
    torch.save({k: v for k, v in SPyNet().state_dict().items() if k not in ("mean", "std")}, spynet)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MGX_OFFLINE": "1", "MGX_CACHE_DIR": str(root / "cache")}
    width = ["model.generator.mid_channels=8", "model.generator.num_blocks=1",
             f"model.generator.spynet_pretrained={spynet}"]
    if "edvr_pretrained" in open(CONFIGS / config).read():  # IconVSR: an EDVR extractor file of that width
        from mgx.plugins.models.iconvsr import EDVRFeatureExtractor

        padding = 2 if "reds" in config else 3
        edvr = EDVRFeatureExtractor(mid_channels=8, num_frames=2 * padding + 1, center_frame_idx=padding)
        torch.save({"state_dict": edvr.state_dict()}, root / "edvr.pth")
        width.append(f"model.generator.edvr_pretrained={root / 'edvr.pth'}")
    return env, width


def evaluator_wrapper(root: Path, config: str) -> Path:
    """The config with MMagic's list forms of val/test_evaluator (a list of metrics; a list of such lists,
    one per dataloader) written as dict(type='Evaluator', metrics=[...]): mgx's main does not read those
    forms yet (branch zoo-frame adds them)."""
    wrapper = root / "wrapped.py"
    wrapper.write_text(
        f"_base_ = [{str(CONFIGS / config)!r}]\n"
        "def _evaluators(value):\n"
        "    if isinstance(value, list) and value and all(isinstance(m, dict) and m.get('type') != 'Evaluator'\n"
        "                                               for m in value):\n"
        "        return dict(type='Evaluator', metrics=value)\n"
        "    return [_evaluators(v) for v in value] if isinstance(value, list) else value\n"
        "val_evaluator = _evaluators(_base_.val_evaluator)\n"
        "test_evaluator = _evaluators(_base_.test_evaluator)\n")
    return wrapper


@pytest.mark.timeout(600)
@pytest.mark.parametrize("config", [pytest.param(c, marks=[pytest.mark.slow] if c in SLOW else []) for c in CASES])
def test_mmagic_video_config_trains_and_tests(config, tmp_path):
    # IconVSR's refill reads 2·padding + 1 frames: 5 (REDS configs) or 7 (Vimeo-90K configs, tested on Vid4...)
    count = (5 if "reds" in config else 7) if config.startswith("iconvsr/") else 3
    env, width = write_run_inputs(tmp_path, config, count)
    crop = CASES[config]
    frames = [f"train_dataloader.dataset.num_input_frames={count}"] if "reds" in config else []
    val = [f"val_dataloader.dataset.num_input_frames={count}", f"val_dataloader.dataset.fixed_seq_len={count}"] \
        if "reds" in config else []
    options = ["train_cfg.max_iters=2", "train_cfg.val_interval=2", "train_dataloader.batch_size=1",
               "train_dataloader.num_workers=0", "val_dataloader.num_workers=0",
               f"train_dataloader.dataset.pipeline.{crop}.gt_patch_size=32", *frames, *val, *width]
    work = tmp_path / "work"
    trained = _mgx("run", "train", str(CONFIGS / config), "--work-dir", str(work), "--no-track", "--cfg-options",
                   *options, cwd=tmp_path, env=env)
    assert trained.returncode == 0, trained.stderr[-4000:]
    assert list(work.glob("samples/*.png")), "the validation sample grid was not written"
    test_options = [f"test_dataloader.0.dataset.num_input_frames={count}",
                    f"test_dataloader.0.dataset.fixed_seq_len={count}", *width]
    tested = _mgx("run", "test", str(evaluator_wrapper(tmp_path, config)), str(work / "iter_2.pth"), "--work-dir",
                  str(tmp_path / "test"), "--no-track", "--cfg-options", *test_options, cwd=tmp_path, env=env)
    assert tested.returncode == 0, tested.stderr[-4000:]
    metrics = json.loads((tmp_path / "test" / "test_results.json").read_text())["metrics"]
    for prefix in ("REDS4-BIx4-RGB", "Vimeo-90K-T-BDx4-Y", "Vimeo-90K-T-BIx4-Y", "UDM10-BDx4-Y", "VID4-BDx4-Y",
                   "VID4-BIx4-Y"):
        assert np.isfinite(metrics[f"{prefix}/PSNR"]) and 0 < metrics[f"{prefix}/SSIM"] <= 1, metrics


# MMagic's test-only NTIRE configs: (test_dataloader frame overrides, metric prefix)
TEST_ONLY = {
    "basicvsr_pp/basicvsr-pp_c128n25_600k_ntire-vsr.py": ["test_dataloader.dataset.num_input_frames=3",
                                                          "test_dataloader.dataset.fixed_seq_len=3"],
    "basicvsr_pp/basicvsr-pp_c128n25_600k_ntire-decompress-track1.py": [],
    "basicvsr_pp/basicvsr-pp_c128n25_600k_ntire-decompress-track2.py": [],
    "basicvsr_pp/basicvsr-pp_c128n25_600k_ntire-decompress-track3.py": [],
}


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("config", list(TEST_ONLY))
def test_mmagic_checkpoint_runs_the_test_only_ntire_configs(config, tmp_path):
    """An MMagic-layout checkpoint (keys from MMagic's definitions: generator.*, step_counter) loads
    through `mgx run test` and the ensemble-evaluated configs report PSNR/SSIM."""
    env, width = write_run_inputs(tmp_path, config)
    write_decompression_clips(tmp_path)
    keys = mmagic_basicvsr_pp_keys(8, 1, low_res=config.endswith("ntire-vsr.py"))
    weights = {f"generator.{k}": torch.randn(shape) * 0.01 for k, shape in keys.items()}
    weights.update({"generator.spynet.mean": torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1),
                    "generator.spynet.std": torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1),
                    "step_counter": torch.zeros(1)})
    checkpoint = tmp_path / "basicvsr_pp_mmagic.pth"
    torch.save({"meta": {"mmagic_version": "1.2.0"}, "state_dict": weights}, checkpoint)
    path = CONFIGS / config
    if config.endswith("ntire-vsr.py"):  # MMagic's file has no test_evaluator (MMEngine refuses it too)
        path = tmp_path / "with_evaluator.py"
        path.write_text(f"_base_ = [{str(CONFIGS / config)!r}]\n"
                        "test_evaluator = dict(type='Evaluator', metrics=[dict(type='PSNR'), dict(type='SSIM')])\n")
    tested = _mgx("run", "test", str(path), str(checkpoint), "--work-dir", str(tmp_path / "test"),
                  "--no-track", "--cfg-options", *TEST_ONLY[config], *width, cwd=tmp_path, env=env)
    assert tested.returncode == 0, tested.stderr[-4000:]
    metrics = json.loads((tmp_path / "test" / "test_results.json").read_text())["metrics"]
    assert np.isfinite(metrics["PSNR"]) and 0 < metrics["SSIM"] <= 1, metrics


RESUME_CONFIG = """
model = dict(
    type='BasicVSR',
    generator=dict(type='BasicVSRPlusPlusNet', mid_channels=8, num_blocks=1, spynet_pretrained={spynet!r}),
    pixel_loss=dict(type='CharbonnierLoss', loss_weight=1.0, reduction='mean'),
    train_cfg=dict(fix_iter=4),
    data_preprocessor=dict(type='DataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.]))
train_dataloader = dict(
    batch_size=2, num_workers=0, sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='BasicFramesDataset', data_root='data/REDS',
                 data_prefix=dict(img='train_sharp_bicubic/X4', gt='train_sharp'),
                 ann_file='meta_info_reds4_train.txt', depth=1, num_input_frames=3,
                 pipeline=[dict(type='GenerateSegmentIndices', interval_list=[1]),
                           dict(type='LoadImageFromFile', key='img', channel_order='rgb'),
                           dict(type='LoadImageFromFile', key='gt', channel_order='rgb'),
                           dict(type='SetValues', dictionary=dict(scale=4)),
                           dict(type='PairedRandomCrop', gt_patch_size=16),
                           dict(type='Flip', keys=['img', 'gt'], flip_ratio=0.5, direction='horizontal'),
                           dict(type='RandomTransposeHW', keys=['img', 'gt'], transpose_ratio=0.5),
                           dict(type='PackInputs')]))
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.9, 0.99)),
                     paramwise_cfg=dict(custom_keys={{'spynet': dict(lr_mult=0.125)}}))
param_scheduler = dict(type='CosineRestartLR', by_epoch=False, periods=[6], restart_weights=[1], eta_min=1e-7)
train_cfg = dict(by_epoch=False, max_iters=6)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=3, max_keep_ckpts=-1))
randomness = dict(seed=5)
"""


@pytest.mark.slow  # two short `mgx run train` processes
@pytest.mark.timeout(600)
def test_basicvsr_pp_resume_is_bit_identical(tmp_path):
    """Resumed at iteration 3, inside fix_iter=4 (SPyNet frozen until the step counter reaches 4): the
    final weights, optimizer and scheduler states equal the straight run's."""
    env, _ = write_run_inputs(tmp_path, "basicvsr_pp/basicvsr-pp_c64n7_8xb1-600k_reds4.py")
    config = tmp_path / "basicvsr_pp_tiny.py"
    config.write_text(RESUME_CONFIG.format(spynet=str(tmp_path / "spynet.pth")))
    straight = _mgx("run", "train", str(config), "--work-dir", str(tmp_path / "straight"), "--no-track",
                    "--deterministic", cwd=tmp_path, env=env)
    assert straight.returncode == 0, straight.stderr[-3000:]
    resumed_dir = tmp_path / "resumed"
    resumed_dir.mkdir()
    shutil.copy(tmp_path / "straight" / "iter_3.pth", resumed_dir / "iter_3.pth")
    resumed = _mgx("run", "train", str(config), "--work-dir", str(resumed_dir), "--no-track", "--deterministic",
                   "--resume", str(resumed_dir / "iter_3.pth"), cwd=tmp_path, env=env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed from" in resumed.stderr
    expected = torch.load(tmp_path / "straight" / "iter_6.pth", weights_only=True)
    final = torch.load(resumed_dir / "iter_6.pth", weights_only=True)
    assert int(final["model"]["step_counter"]) == 6
    middle = torch.load(tmp_path / "straight" / "iter_3.pth", weights_only=True)
    spynet = [k for k in middle["model"] if ".spynet.basic_module" in k]
    initial_spynet = torch.load(tmp_path / "spynet.pth", weights_only=True)
    assert all(torch.equal(middle["model"][k], initial_spynet[k[len("generator.spynet."):]]) for k in spynet)
    assert any(not torch.equal(final["model"][k], middle["model"][k]) for k in spynet)  # thawed at 4
    for part in ("model", "optimizers", "schedulers"):
        assert_identical(final[part], expected[part], part)


def test_video_psnr_averages_frames_per_clip_then_clips():
    from mgx.plugins.metrics.paired import PSNR

    rng = np.random.default_rng(4)
    gt = torch.tensor(rng.integers(0, 256, (2, 3, 3, 6, 6)), dtype=torch.float64)
    pred = gt + torch.tensor(rng.normal(0, 1, (2, 3, 1, 1, 1)) * np.array([1, 4, 16]).reshape(1, 3, 1, 1, 1))
    metric = PSNR()
    metric.setup(None)
    metric.process({"gt_img": gt[:1]}, {"pred_img": pred[:1]})  # a 3-frame clip, then a 2-frame one
    metric.process({"gt_img": gt[1:, :2]}, {"pred_img": pred[1:, :2]})
    frame_psnr = 10 * np.log10(255.0 ** 2 / ((pred - gt).numpy() ** 2).mean(axis=(2, 3, 4)))
    per_clip = [frame_psnr[0].mean(), frame_psnr[1, :2].mean()]
    pooled = np.concatenate([frame_psnr[0], frame_psnr[1, :2]]).mean()
    assert metric.compute()["PSNR"] == pytest.approx(np.mean(per_clip), abs=1e-9)
    assert abs(np.mean(per_clip) - pooled) > 1e-3  # the two conventions differ here
