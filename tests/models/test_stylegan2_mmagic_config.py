"""MMagic 1.2.0's own StyleGAN2 config trains with only the data path, sizes and fake_nums changed
(the data, the overrides and the metrics' stand-in networks from benchmarks/zoo_data.py, as
benchmarks/zoo_trials.py runs every config of the family)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mgx.benchmarks.zoo_data import prepare_trial

# MMagic 1.2.0's config and its _base_ chain, copied as test data (MGX_MMAGIC_CONFIGS: an unpacked wheel's)
MMAGIC_CONFIGS = Path(os.environ.get("MGX_MMAGIC_CONFIGS", Path(__file__).parents[1] / "mmagic" / "configs"))
CONFIG = MMAGIC_CONFIGS / "styleganv2" / "stylegan2_c2_8xb4-800kiters_ffhq-256x256.py"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_mmagic_stylegan2_ffhq_config_trains_two_iterations(tmp_path):
    if not CONFIG.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"MMagic's configs are missing at {MMAGIC_CONFIGS} (set MGX_MMAGIC_CONFIGS)")
        pytest.skip(f"MMagic 1.2.0's configs are not at {MMAGIC_CONFIGS} (set MGX_MMAGIC_CONFIGS)")
    from mgx.core.config import load_config

    # 8 images of 32 px; generator.out_size = discriminator.in_size = 32; fake_nums=8; 2 iterations
    trial = prepare_trial(load_config(CONFIG), tmp_path)
    assert "model.generator.out_size=32" in trial.options and "train_cfg.max_iters=2" in trial.options
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    # the metrics' networks given by local paths (their interfaces, not their weights: nothing is downloaded)
    env.update(trial.env, OMP_NUM_THREADS="1", MGX_CACHE_DIR=str(tmp_path / "cache"))
    result = subprocess.run([sys.executable, "-m", "mgx.cli", "run", "train", str(CONFIG), "--work-dir",
                             str(tmp_path / "work"), "--no-track", "--cfg-options", *trial.options],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=850)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "training finished at iteration 2" in result.stderr
    assert (tmp_path / "work" / "iter_2.pth").exists() or any((tmp_path / "work").glob("*.pth"))
