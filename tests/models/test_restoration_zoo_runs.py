"""One MMagic 1.2.0 config per family (SwinIR, RDN, LIIF; copied unchanged into tests/mmagic/configs/) trains
2 iterations with `mgx run train` and passes `mgx run test`, at tiny width, on synthetic DIV2K/Set5/Set14
folders in MMagic's layout. Only sizes, widths and iterations are overridden."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mgx.benchmarks.zoo_data import Sizes, prepare_trial
from mgx.core.config import load_config
from test_swinir import TINY, mmagic_layout_checkpoint

CONFIGS = Path(__file__).resolve().parents[2] / "tests" / "mmagic" / "configs"


def _mgx(*args, cwd):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MGX_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "mgx.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def _train_and_test(tmp_path: Path, config: str, width: list[str], train: list[str],
                    tested_checkpoint: Path | None = None) -> tuple[dict, str]:
    # the DIV2K/Set5/Set14 folders and meta-info files the config reads, in MMagic's layout
    config_path = Path(config) if Path(config).is_absolute() else CONFIGS / config
    prepare_trial(load_config(config_path), tmp_path, sizes=Sizes(image=128, count=2))  # LIIF tests down to x30
    work = tmp_path / "work"
    trained = _mgx("run", "train", str(CONFIGS / config), "--work-dir", str(work), "--no-track", "--cfg-options",
                   "train_cfg.max_iters=2", "train_cfg.val_interval=2", "train_dataloader.batch_size=2",
                   "train_dataloader.num_workers=0", *width, *train, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr[-4000:]
    assert "Iter(val) [2]" in trained.stderr and "PSNR" in trained.stderr, trained.stderr[-2000:]
    assert (work / "iter_2.pth").is_file()
    checkpoint = tested_checkpoint or work / "iter_2.pth"
    tested = _mgx("run", "test", str(CONFIGS / config), str(checkpoint), "--work-dir", str(tmp_path / "test"),
                  "--no-track", "--cfg-options", *width, cwd=tmp_path)
    assert tested.returncode == 0, tested.stderr[-4000:]
    return json.loads((tmp_path / "test" / "test_results.json").read_text())["metrics"], trained.stderr


@pytest.mark.timeout(300)
def test_swinir_config_trains_from_and_tests_an_mmagic_checkpoint(tmp_path):
    """The classical ×2 config at TINY's width: training starts from weights in MMagic's checkpoint layout
    (``load_from``), and ``mgx run test`` evaluates such a checkpoint as MMagic's tools/test.py does."""
    checkpoint = tmp_path / "swinir_mmagic_layout.pth"
    torch.save(mmagic_layout_checkpoint(), checkpoint)
    generator = [f"model.generator.{k}={v}".replace(" ", "") for k, v in TINY.items() if k not in ("type", "upscale")]
    # the list-form val_evaluator (one evaluator, two metrics) written as MMagic's Evaluator dict
    evaluator = ("val_evaluator=dict(type='Evaluator',"
                 "metrics=[dict(type='PSNR',crop_border=2),dict(type='SSIM',crop_border=2)])")
    metrics, log = _train_and_test(tmp_path, "swinir/swinir_x2s48w8d6e180_8xb4-lr2e-4-500k_div2k.py",
                                   [*generator, evaluator],
                                   ["train_dataloader.dataset.pipeline.3.gt_patch_size=32", f"load_from={checkpoint}"],
                                   tested_checkpoint=checkpoint)
    assert f"loaded weights from {checkpoint}" in log
    for prefix in ("Set5", "Set14", "DIV2K"):
        assert np.isfinite(metrics[f"{prefix}/PSNR"]) and 0 < metrics[f"{prefix}/SSIM"] <= 1, metrics


@pytest.mark.timeout(300)
def test_rdn_config_trains_and_tests(tmp_path):
    width = ["model.generator.mid_channels=8", "model.generator.num_blocks=2", "model.generator.num_layers=2",
             "model.generator.channel_growth=4"]
    metrics, _ = _train_and_test(tmp_path, "rdn/rdn_x4c64b16_1xb16-1000k_div2k.py", width,
                                 ["train_dataloader.dataset.pipeline.3.gt_patch_size=32"])
    for prefix in ("Set5", "Set14", "DIV2K"):
        assert np.isfinite(metrics[f"{prefix}/PSNR"]) and 0 < metrics[f"{prefix}/SSIM"] <= 1, metrics


@pytest.mark.timeout(300)
def test_liif_config_trains_and_tests_at_six_scales(tmp_path):
    """LIIF-RDN: random-scale (×1–×4) training on sampled query pixels, then the config's test at ×2, ×3, ×4,
    ×6, ×18 and ×30 (Set5's six dataloaders; a child config turns each list of metric dicts into an
    Evaluator until mgx reads MMagic's list form, and keeps Set5's loaders to bound CI time)."""
    child = tmp_path / "liif_child.py"
    child.write_text(f"_base_ = [{str(CONFIGS / 'liif/liif-rdn-norm_c64b16_1xb16-1000k_div2k.py')!r}]\n"
                     "test_dataloader = _base_.test_dataloader[:6]\n"
                     "test_evaluator = [dict(type='Evaluator', metrics=m) for m in _base_.test_evaluator[:6]]\n")
    width = ["model.generator.encoder.mid_channels=8", "model.generator.encoder.num_blocks=2",
             "model.generator.encoder.num_layers=2", "model.generator.encoder.channel_growth=4",
             "model.generator.imnet.hidden_list=[16]"]
    metrics, _ = _train_and_test(tmp_path, str(child), width,
                                 ["train_dataloader.dataset.pipeline.1.patch_size=16",
                                  "train_dataloader.dataset.pipeline.5.sample_quantity=64"])
    for scale in (2, 3, 4, 6, 18, 30):
        assert np.isfinite(metrics[f"Set5x{scale}/PSNR"]) and 0 < metrics[f"Set5x{scale}/SSIM"] <= 1, metrics
