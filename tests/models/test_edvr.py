"""EDVR: MMagic's state-dict keys, the tsa_iter schedule, and MMagic's 4 EDVR configs through the CLI on
REDS-layout clips (frame windows -> the centre frame; slow)."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mgx.core.engine.optim import build_optim_wrappers
from mgx.core.registry import build

sys.path.insert(0, str(Path(__file__).parent))
from test_basicvsr import (CONFIGS, _conv, _head_keys, _mgx, evaluator_wrapper,  # noqa: E402
                           mmagic_edvr_extractor_keys, write_run_inputs)


def mmagic_edvrnet_keys(mid: int, frames: int, extraction: int, reconstruction: int) -> dict:
    """MMagic's EDVRNet (edvr_net.py): the extractor's layers at the top level (no ``edvr.``), then
    ``reconstruction.{i}`` residual blocks and the ×4 head."""
    keys = {k[len("edvr."):]: v for k, v in mmagic_edvr_extractor_keys(mid, frames).items()
            if not k.startswith("edvr.feature_extraction.")}
    for block in range(extraction):
        for conv in ("conv1", "conv2"):
            keys.update(_conv(f"feature_extraction.{block}.{conv}", mid, mid, 3))
    for block in range(reconstruction):
        for conv in ("conv1", "conv2"):
            keys.update(_conv(f"reconstruction.{block}.{conv}", mid, mid, 3))
    return {**keys, **_head_keys(mid)}


def test_edvrnet_state_dict_keys_are_mmagics():
    net = build(dict(type="EDVRNet", in_channels=3, out_channels=3, mid_channels=8, num_frames=5,
                     num_blocks_extraction=2, num_blocks_reconstruction=1), "model")
    assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == mmagic_edvrnet_keys(8, 5, 2, 1)


def test_tsa_iter_trains_only_the_fusion_first():
    model = build(dict(type="EDVR", generator=dict(type="EDVRNet", in_channels=3, out_channels=3, mid_channels=8,
                                                   num_blocks_extraction=1, num_blocks_reconstruction=1, with_tsa=True),
                       pixel_loss=dict(type="CharbonnierLoss", reduction="sum"), train_cfg=dict(tsa_iter=1),
                       data_preprocessor=dict(type="DataPreprocessor", mean=[0.0] * 3, std=[255.0] * 3)), "model")
    optim = build_optim_wrappers(dict(optimizer=dict(type="Adam", lr=1e-3)), model, device=torch.device("cpu"),
                                 amp=False)
    batch = {"inputs": torch.randint(0, 256, (1, 5, 3, 8, 8), dtype=torch.uint8),
             "gt_img": torch.randint(0, 256, (1, 3, 32, 32), dtype=torch.uint8)}
    before = {k: v.detach().clone() for k, v in model.generator.named_parameters()}
    model.train_step(batch, optim)
    moved = {k for k, v in model.generator.named_parameters() if not torch.equal(before[k], v)}
    assert moved and all(k.startswith("fusion.") for k in moved)
    model.train_step(batch, optim)
    assert not torch.equal(before["conv_first.weight"], model.generator.conv_first.weight)
    assert "step_counter" in model.state_dict() and int(model.step_counter) == 2
    pred = model.val_step(batch)["pred_img"]
    assert pred.shape == (1, 3, 32, 32)


EDVR_CONFIGS = ["edvr/edvrm_8xb4-600k_reds.py", "edvr/edvrm_wotsa_8xb4-600k_reds.py",
                "edvr/edvrl_c128b40_8xb8-lr2e-4-600k_reds4.py", "edvr/edvrl_wotsa-c128b40_8xb8-lr2e-4-600k_reds4.py"]


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("config", EDVR_CONFIGS)
def test_mmagic_edvr_config_trains_and_tests(config, tmp_path):
    env, _ = write_run_inputs(tmp_path, config, frames=5)
    width = ["model.generator.mid_channels=8", "model.generator.num_blocks_reconstruction=1"]
    if "init_cfg" in (CONFIGS / config).read_text():  # the pretrained generator MMagic downloads: a local one
        net = build(dict(type="EDVRNet", in_channels=3, out_channels=3, mid_channels=8, num_blocks_reconstruction=1,
                         with_tsa="wotsa" not in config), "model")
        torch.save({"state_dict": {f"generator.{k}": v for k, v in net.state_dict().items()}}, tmp_path / "g.pth")
        width.append(f"model.generator.init_cfg.checkpoint={tmp_path / 'g.pth'}")
    options = ["train_cfg.max_iters=2", "train_cfg.val_interval=2", "train_dataloader.batch_size=1",
               "train_dataloader.num_workers=0", "val_dataloader.num_workers=0",
               "train_dataloader.dataset.pipeline.5.gt_patch_size=32", *width]
    work = tmp_path / "work"
    trained = _mgx("run", "train", str(evaluator_wrapper(tmp_path, config)), "--work-dir", str(work), "--no-track",
                   "--cfg-options", *options, cwd=tmp_path, env=env)
    assert trained.returncode == 0, trained.stderr[-4000:]
    tested = _mgx("run", "test", str(evaluator_wrapper(tmp_path, config)), str(work / "iter_2.pth"), "--work-dir",
                  str(tmp_path / "test"), "--no-track", "--cfg-options", *width, cwd=tmp_path, env=env)
    assert tested.returncode == 0, tested.stderr[-4000:]
    metrics = json.loads((tmp_path / "test" / "test_results.json").read_text())["metrics"]
    assert np.isfinite(metrics["PSNR"]) and 0 < metrics["SSIM"] <= 1, metrics
