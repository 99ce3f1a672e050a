"""RealBasicVSR: RealBasicVSRNet's parameter count and state-dict keys equal MMagic 1.2.0's, an MMagic
checkpoint loads through load_from, the cleaning rounds and the cleaning loss against float64 statements of
their definitions, RandomVideoCompression (PyAV) and the message without it, and MMagic's RealBasicVSR
config (copied unchanged into tests/mmagic/configs/real_basicvsr/) trained 2 iterations and tested through
the CLI at tiny width, with the clip's GIF logged to a real local MLflow store."""
from __future__ import annotations

import importlib.util
import itertools
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mgx.benchmarks.zoo_data.frames import write_real_basicvsr_layouts
from mgx.core.engine.checkpoint import load_model_weights, weights_of
from mgx.core.errors import ConfigError
from mgx.core.registry import build
from mgx.plugins.data.pixel_degradations import DegradationsWithShuffle
from mgx.plugins.data.video_compression import RandomVideoCompression, compress_frames
from mgx.plugins.models.ops.flow import SPyNet
from mgx.plugins.models.real_basicvsr.real_basicvsr_net import RealBasicVSRNet

sys.path.insert(0, str(Path(__file__).parent))
from mgx_subprocess import run_mgx  # noqa: E402
from test_basicvsr import _resblocks_keys, mmagic_basicvsr_keys  # noqa: E402
from mlflow_runs import every_run  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[1] / "mmagic" / "configs" / "real_basicvsr"
PREPROCESSOR = dict(type="DataPreprocessor", mean=[0.0] * 3, std=[255.0] * 3)
TINY_NET = dict(type="RealBasicVSRNet", mid_channels=4, num_propagation_blocks=1, num_cleaning_blocks=1)


def test_parameter_count_is_mmagics():
    # Σ numel of MMagic's RealBasicVSRNet(64, 20, 20), the published configs' generator, from its source:
    # cleaning 1,480,643 (ResidualBlocksWithInputConv(3, 64, 20) + conv 64->3) + BasicVSRNet(64, 20) 4,814,191
    assert sum(p.numel() for p in RealBasicVSRNet().parameters()) == 6294834


def test_state_dict_keys_are_mmagics():
    state = build(dict(TINY_NET, mid_channels=8, num_propagation_blocks=2), "model").state_dict()
    expected = {**_resblocks_keys("image_cleaning.0", 3, 8, 1), "image_cleaning.1.weight": (3, 8, 3, 3),
                "image_cleaning.1.bias": (3,), **{f"basicvsr.{k}": v for k, v in mmagic_basicvsr_keys(8, 2).items()}}
    assert {k: tuple(v.shape) for k, v in state.items()} == expected


def _model(**kwargs):
    return build(dict(type="RealBasicVSR", generator=TINY_NET, pixel_loss=dict(type="L1Loss"),
                      data_preprocessor=PREPROCESSOR, **kwargs), "model")


def test_mmagic_checkpoint_loads_through_load_from():
    """MMagic's RealBasicVSR state dict: generator, generator_ema, the spectral-norm discriminator, the
    perceptual loss's frozen VGG; no step counter (MMagic's is not persistent)."""
    model = _model(discriminator=dict(type="UNetDiscriminatorWithSpectralNorm", in_channels=3, mid_channels=4),
                   gan_loss=dict(type="GANLoss", gan_type="vanilla"), is_use_ema=True)
    rng = torch.Generator().manual_seed(0)
    state = {k: torch.randn(v.shape, generator=rng) for k, v in model.state_dict().items() if k != "step_counter"}
    assert any(k.startswith("generator_ema.image_cleaning.") for k in state)
    state["perceptual_loss.vgg.vgg_layers.0.weight"] = torch.zeros(64, 3, 3, 3)
    load_model_weights(model, weights_of({"meta": {}, "state_dict": state}), "realbasicvsr-mmagic.pth")
    torch.testing.assert_close(model.generator_ema.image_cleaning[1].weight,
                               state["generator_ema.image_cleaning.1.weight"])
    torch.testing.assert_close(model.discriminator.conv_2.weight_orig, state["discriminator.conv_2.weight_orig"])


@pytest.mark.parametrize("residue, threshold, rounds", [(0.01, 5, 1), (0.03, 5, 3), (0.03, 255, 1)])
def test_cleaning_repeats_while_the_residue_is_large(residue, threshold, rounds):
    """x_{k+1} = x_k + R(x_k) until mean|R| < thres/255, at most 3 rounds; here R is a constant."""
    net = RealBasicVSRNet(4, 1, 1, dynamic_refine_thres=threshold)
    last = net.image_cleaning[1]
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.constant_(last.bias, residue)
    lqs = torch.rand(1, 2, 3, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        cleaned = net.double().clean(lqs)
    np.testing.assert_allclose(cleaned.numpy(), lqs.numpy() + rounds * residue, atol=1e-12)


def test_sequential_cleaning_gives_the_batched_result():
    batched = RealBasicVSRNet(4, 1, 1, dynamic_refine_thres=0).double()
    sequential = RealBasicVSRNet(4, 1, 1, dynamic_refine_thres=0, is_sequential_cleaning=True).double()
    sequential.load_state_dict(batched.state_dict())
    lqs = torch.rand(1, 3, 3, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(sequential.clean(lqs), batched.clean(lqs))


def test_cleaning_loss_is_l1_to_the_area_reduced_pixel_ground_truth():
    model = _model(cleaning_loss=dict(type="L1Loss"), is_use_sharpened_gt_in_pixel=True)
    rng = np.random.default_rng(0)
    cleaned = rng.uniform(size=(2, 3, 3, 4, 4))
    sharp = rng.uniform(0, 255, size=(2, 3, 3, 16, 16))
    gt = torch.zeros(6, 3, 16, 16)
    batch = {"gt_unsharp": torch.tensor(sharp, dtype=torch.float32)}
    targets = model.loss_targets(batch, gt, "test", torch.device("cpu"))
    loss = model.extra_losses(torch.tensor(cleaned, dtype=torch.float32), targets)["loss_clean"]
    reduced = (sharp / 255).reshape(6, 3, 4, 4, 4, 4).mean(axis=(3, 5))  # 4×4 area means
    assert float(loss) == pytest.approx(np.abs(cleaned.reshape(6, 3, 4, 4) - reduced).mean(), rel=1e-5)


def test_train_step_logs_every_loss_and_evaluation_restores_clips():
    model = _model(cleaning_loss=dict(type="L1Loss"), is_use_ema=True,
                   discriminator=dict(type="UNetDiscriminatorWithSpectralNorm", in_channels=3, mid_channels=4),
                   gan_loss=dict(type="GANLoss", gan_type="vanilla", loss_weight=0.05))
    from mgx.core.engine.optim import build_optim_wrappers

    optim = build_optim_wrappers(dict(constructor="MultiOptimWrapperConstructor",
                                      generator=dict(type="OptimWrapper", optimizer=dict(type="Adam", lr=1e-4)),
                                      discriminator=dict(type="OptimWrapper", optimizer=dict(type="Adam", lr=1e-4))),
                                 model, device=torch.device("cpu"), amp=False)
    batch = {"inputs": torch.randint(0, 256, (1, 2, 3, 8, 8), dtype=torch.uint8),
             "gt_img": torch.randint(0, 256, (1, 2, 3, 32, 32), dtype=torch.uint8)}
    spynet_before = [p.detach().clone() for p in model.generator.basicvsr.spynet.parameters()]
    log = model.train_step(batch, optim)
    assert set(log) == {"loss_pix", "loss_clean", "loss_gan", "loss_d_real", "loss_d_fake"}
    assert all(torch.equal(a, b) for a, b in zip(spynet_before, model.generator.basicvsr.spynet.parameters()))
    model.eval()
    outputs = model.val_step(batch)
    assert outputs["pred_img"].shape == (1, 2, 3, 32, 32) and outputs["gt_img"] is batch["gt_img"]
    assert "gt_img" not in model.val_step({"inputs": batch["inputs"], "gt_img": batch["inputs"]})  # VideoLQ


def _smooth_clip(frames: int, height: int, width: int) -> list[np.ndarray]:
    """A gray texture panning 4 pixels a frame (gray: 4:2:0 chroma subsampling loses nothing of it)."""
    rng = np.random.default_rng(0)
    coarse = rng.integers(0, 256, (height // 2, (width + 4 * frames) // 2), dtype=np.uint8)
    base = np.asarray(Image.fromarray(coarse).resize((width + 4 * frames, height), Image.Resampling.BICUBIC))
    return [np.repeat(base[:, 4 * i:4 * i + width, None], 3, axis=2).astype(np.float32) for i in range(frames)]


def _psnr(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    mse = np.mean([(x.astype(np.float64) - y) ** 2 for x, y in zip(a, b)])
    return 10 * np.log10(255 ** 2 / mse)


@pytest.mark.parametrize("codec", ["libx264", "h264", "mpeg4"])
def test_video_compression_round_trips_with_artefacts_that_grow_as_the_bitrate_falls(codec):
    clip = _smooth_clip(4, 96, 127)  # odd width: padded for the 4:2:0 encoder, cropped back
    high, low = compress_frames(clip, codec, 1_000_000), compress_frames(clip, codec, 10_000)
    assert [f.shape for f in high] == [(96, 127, 3)] * 4 and high[0].dtype == np.float32
    assert 30 < _psnr(high, clip) < 80 and _psnr(low, clip) <= _psnr(high, clip)
    if codec != "mpeg4":  # mpeg4 stays at its quantiser floor here: both rates are ample for 96×127 frames
        assert _psnr(low, clip) < _psnr(high, clip) - 3


def test_video_compression_transform_draws_per_sample_and_fits_the_shuffle():
    params = dict(codec=["libx264", "mpeg4"], codec_prob=[0.5, 0.5], bitrate=[1e4, 1e5])
    sample = {"img": _smooth_clip(3, 16, 16), "sample_idx": 3, "seed": 1}
    out = RandomVideoCompression(params, keys=["img"])(dict(sample))
    again = RandomVideoCompression(params, keys=["img"])(dict(sample))
    assert len(out["img"]) == 3 and all(np.array_equal(a, b) for a, b in zip(out["img"], again["img"]))
    shuffled = DegradationsWithShuffle([dict(type="RandomVideoCompression", params=params)], keys=["img"])
    assert len(shuffled(dict(sample))["img"]) == 3
    # frames of drifting sizes (RandomResize's resize_step) come back at the first one's, as in MMagic
    mixed = [np.zeros((16, 16, 3), np.float32), np.zeros((18, 14, 3), np.float32)]
    assert [f.shape for f in compress_frames(mixed, "libx264", 50_000)] == [(16, 16, 3)] * 2


def test_video_compression_without_pyav_names_the_extra(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "av" else real(name, *a))
    with pytest.raises(ConfigError, match=r"pip install 'mgx\[video\]'"):
        RandomVideoCompression(dict(codec=["libx264"], codec_prob=[1], bitrate=[1e4, 1e5]), keys=["img"])


def _artifacts(client, run_id: str, path: str = "") -> list[str]:
    found = []
    for item in client.list_artifacts(run_id, path or None):
        found += _artifacts(client, run_id, item.path) if item.is_dir else [item.path]
    return found


@pytest.mark.timeout(600)
def test_mmagic_real_basicvsr_config_trains_and_tests_with_its_clip_in_mlflow(tmp_path):
    from mlflow import MlflowClient

    config = CONFIGS / "realbasicvsr_wogan-c64b20-2x30x8_8xb2-lr1e-4-300k_reds.py"
    # 64-pixel crops: MMagic's two random down-resizes (×0.15, ×0.3 at worst) leave 2 pixels of them (none of
    # 32); VideoLQ frames of 48 pixels, as NIQE needs outputs of at least 96×192
    write_real_basicvsr_layouts(tmp_path, frames=3, size=64, lq_size=48)
    spynet = tmp_path / "spynet.pth"
    torch.save({k: v for k, v in SPyNet().state_dict().items() if k not in ("mean", "std")}, spynet)
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}  # the workspace's own store
    env.update(OMP_NUM_THREADS="1", MGX_OFFLINE="1")
    tiny = ["model.generator.mid_channels=4", "model.generator.num_propagation_blocks=1",
            "model.generator.num_cleaning_blocks=1", f"model.generator.spynet_pretrained={spynet}"]
    sizes = ["train_dataloader.batch_size=1", "train_dataloader.num_workers=0", "val_dataloader.num_workers=0",
             "train_dataloader.dataset.num_input_frames=3", "train_dataloader.dataset.pipeline.3.crop_size=(64,64)",
             "train_dataloader.dataset.pipeline.19.degradations.1.0.params.target_size=(16,16)"]
    trained = run_mgx("run", "train", str(config), "--work-dir", str(tmp_path / "work"), "--cfg-options", *tiny,
                      *sizes, "train_cfg.max_iters=2", "train_cfg.val_interval=2", cwd=tmp_path, env=env)
    assert trained.returncode == 0, trained.stderr[-4000:]
    assert "loss_clean" in trained.stderr and "PSNR" in trained.stderr
    tested = run_mgx("run", "test", str(config), str(tmp_path / "work" / "iter_2.pth"), "--work-dir",
                     str(tmp_path / "test"), "--no-track", "--cfg-options", *tiny, "test_dataloader.num_workers=0",
                     cwd=tmp_path, env=env)
    assert tested.returncode == 0, tested.stderr[-4000:]
    metrics = json.loads((tmp_path / "test" / "test_results.json").read_text())["metrics"]
    assert np.isfinite(metrics["NIQE"]), metrics
    with Image.open(tmp_path / "test" / "samples" / "test.gif") as gif:  # VideoLQ: [input | output], 3 frames
        assert gif.n_frames == 3 and gif.size == (2 * 192, 192)
    # the training run in the workspace's MLflow store: the validation grid as an image, the clip's GIF
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    (run,) = every_run(client)
    artifacts = _artifacts(client, run.info.run_id)
    assert any(path.startswith("images/") for path in artifacts), artifacts
    assert "samples/iter_0000002.gif" in artifacts, artifacts
    local = client.download_artifacts(run.info.run_id, "samples/iter_0000002.gif", str(tmp_path / "dl"))
    with Image.open(local) as gif:  # UDM10: [input | output | ground truth], one GIF frame per clip frame
        assert gif.n_frames == 3 and gif.size == (3 * 64, 64)
