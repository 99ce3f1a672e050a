"""MMagic 1.2.0's SRCNN, EDSR, MSRResNet and ESRGAN configs (copied unchanged into tests/mmagic/configs/)
train 2 iterations with `mgx run train` and are evaluated by `mgx run test`, with only sizes (batch size,
training crop) and the ESRGAN's pretrained-generator path overridden. The DIV2K/Set5/Set14 folders and
meta-info files the configs name are written under the run's working directory by
benchmarks/zoo_data.py (the configs' data_root is the relative 'data'), as benchmarks/zoo_trials.py does."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mgx.benchmarks.zoo_data import prepare_trial

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "tests" / "mmagic" / "configs"

CASES = [  # ESRGAN's ModifiedVGG fixes 128×128 ground-truth crops, as in MMagic (zoo_data keeps them)
    "srcnn/srcnn_x4k915_1xb16-1000k_div2k.py",
    "edsr/edsr_x2c64b16_1xb16-300k_div2k.py",
    "srgan_resnet/msrresnet_x4c64b16_1xb16-1000k_div2k.py",
    "esrgan/esrgan_x4c64b23g32_1xb16-400k_div2k.py",
]


def _mgx(*args, cwd, env):
    return subprocess.run([sys.executable, "-m", "mgx.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)


@pytest.mark.slow  # MMagic's full-width networks (ESRGAN: 23 RRDBs and VGG19) on CPU
@pytest.mark.timeout(1200)
@pytest.mark.parametrize("config", CASES)
def test_mmagic_sr_config_trains_and_tests(config, tmp_path):
    from mgx.core.config import load_config
    from mgx.core.plugins import PluginManager

    PluginManager(["mgx.plugins.models"]).activate()  # ESRGAN's pretrained generator: a random stand-in
    trial = prepare_trial(load_config(CONFIGS / config), tmp_path)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MGX_OFFLINE": "1", "MGX_CACHE_DIR": str(tmp_path / "cache"),
           **trial.env}
    common = ["--no-track", "--cfg-options", *trial.options]
    work = tmp_path / "work"
    trained = _mgx("run", "train", str(CONFIGS / config), "--work-dir", str(work), *common, cwd=tmp_path, env=env)
    assert trained.returncode == 0, trained.stderr[-4000:]
    assert "PSNR" in trained.stderr
    checkpoints = sorted(tmp_path.rglob("iter_2.pth"))
    assert checkpoints, f"no iter_2.pth under {tmp_path}: {trained.stderr[-2000:]}"
    assert list(work.rglob("samples/*.png")), "the validation sample grid was not written"
    tested = _mgx("run", "test", str(CONFIGS / config), str(checkpoints[0]), "--work-dir", str(tmp_path / "test"),
                  *common, cwd=tmp_path, env=env)
    assert tested.returncode == 0, tested.stderr[-4000:]
    metrics = json.loads((tmp_path / "test" / "test_results.json").read_text())["metrics"]
    for prefix in ("Set5", "Set14", "DIV2K"):
        assert np.isfinite(metrics[f"{prefix}/PSNR"]) and 0 < metrics[f"{prefix}/SSIM"] <= 1, metrics
