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

from test_editors_mmagic_configs import write_sr_folders
from test_swinir import TINY, mmagic_layout_checkpoint

CONFIGS = Path(__file__).resolve().parents[2] / "tests" / "mmagic" / "configs"


def _mgx(*args, cwd):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MGX_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "mgx.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def _train_and_test(tmp_path: Path, config: str, width: list[str], train: list[str]) -> tuple[dict, str]:
    write_sr_folders(tmp_path)
    work = tmp_path / "work"
    trained = _mgx("run", "train", str(CONFIGS / config), "--work-dir", str(work), "--no-track", "--cfg-options",
                   "train_cfg.max_iters=2", "train_cfg.val_interval=2", "train_dataloader.batch_size=2",
                   "train_dataloader.num_workers=0", *width, *train, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr[-4000:]
    assert "Iter(val) [2]" in trained.stderr and "PSNR" in trained.stderr, trained.stderr[-2000:]
    tested = _mgx("run", "test", str(CONFIGS / config), str(work / "iter_2.pth"), "--work-dir", str(tmp_path / "test"),
                  "--no-track", "--cfg-options", *width, cwd=tmp_path)
    assert tested.returncode == 0, tested.stderr[-4000:]
    return json.loads((tmp_path / "test" / "test_results.json").read_text())["metrics"], trained.stderr


@pytest.mark.timeout(300)
def test_swinir_config_trains_from_an_mmagic_checkpoint_and_tests(tmp_path):
    """The classical ×2 config at TINY's width, starting from weights in MMagic's checkpoint layout."""
    checkpoint = tmp_path / "swinir_mmagic_layout.pth"
    torch.save(mmagic_layout_checkpoint(), checkpoint)
    generator = [f"model.generator.{k}={v}".replace(" ", "") for k, v in TINY.items() if k not in ("type", "upscale")]
    # the list-form val_evaluator (one evaluator, two metrics) written as MMagic's Evaluator dict
    evaluator = "val_evaluator=dict(type='Evaluator',metrics=[dict(type='PSNR',crop_border=2),dict(type='SSIM',crop_border=2)])"
    metrics, log = _train_and_test(tmp_path, "swinir/swinir_x2s48w8d6e180_8xb4-lr2e-4-500k_div2k.py", [*generator, evaluator],
                              ["train_dataloader.dataset.pipeline.3.gt_patch_size=32", f"load_from={checkpoint}"])
    assert f"loaded weights from {checkpoint}" in log
    for prefix in ("Set5", "Set14", "DIV2K"):
        assert np.isfinite(metrics[f"{prefix}/PSNR"]) and 0 < metrics[f"{prefix}/SSIM"] <= 1, metrics
