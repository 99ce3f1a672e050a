"""MMagic 1.2.0's ``dcgan/dcgan_1xb128-5epoches_lsun-bedroom-64x64.py`` (copied unchanged with its
``_base_`` chain under configs/) trains with ``mgx run train`` and its checkpoint is evaluated by
``mgx run test``, on a folder of PNGs made here. ``--cfg-options`` change only data paths and sizes:
data roots, batch sizes, iterations, ``fake_nums`` and, to keep checkpoints small (6.7 MB instead of
285 MB), the two networks' ``base_channels`` (the config's full-width model is built and checked
against MMagic's layout in tests/models/test_dcgan_mmagic.py). Output scale stays 64."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CONFIG = Path(__file__).resolve().parent / "configs" / "dcgan" / "dcgan_1xb128-5epoches_lsun-bedroom-64x64.py"
METRIC_LINE = re.compile(r"ms-ssim/avg: (\S+)  swd/64: (\S+)  swd/32: (\S+)  swd/16: (\S+)  swd/avg: (\S+)")


def mgx(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "mgx.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def metric_values(log: str, prefix: str) -> list[float]:
    lines = [line for line in log.splitlines() if prefix in line and METRIC_LINE.search(line)]
    assert lines, f"no {prefix!r} line with MMagic's metric names in:\n{log[-3000:]}"
    return [float(value) for value in METRIC_LINE.search(lines[-1]).groups()]


def test_mmagic_dcgan_config_trains_and_tests(tmp_path):
    images = tmp_path / "bedroom_train"
    images.mkdir()
    rng = np.random.default_rng(0)
    for index in range(20):  # not 64×64: the config's Resize makes them so
        Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(images / f"{index:02d}.png")
    fake_nums = [f"{evaluator}_evaluator.metrics.{index}.fake_nums=8"
                 for evaluator in ("val", "test") for index in (0, 1)]
    sizes = ["model.generator.base_channels=128", "model.discriminator.base_channels=16"]
    data = [f"{split}_dataloader.{key}" for split in ("train", "val", "test")
            for key in (f"dataset.data_root={images}", "batch_size=4")]
    work = tmp_path / "work"

    trained = mgx("run", "train", str(CONFIG), "--no-track", "--work-dir", str(work), "--cfg-options",
                  *data, "train_cfg.max_iters=3", *fake_nums, *sizes, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert "components do not take" not in trained.stderr  # every model argument of MMagic's is taken
    checkpoint = work / "iter_3.pth"
    assert checkpoint.is_file() and (work / "best_swd_avg_iter_3.pth").is_file()  # save_best='swd/avg'
    validated = metric_values(trained.stderr + trained.stdout, "Iter(val) [3]")

    tested = mgx("run", "test", str(CONFIG), str(checkpoint), "--no-track", "--work-dir", str(work),
                 "--cfg-options", *data, *fake_nums, *sizes, cwd=tmp_path)
    assert tested.returncode == 0, tested.stderr[-3000:]
    ms_ssim, swd64, swd32, swd16, swd_avg = metric_values(tested.stderr + tested.stdout, "Test ")
    assert 0.0 <= ms_ssim <= 1.0 and min(swd64, swd32, swd16) > 0
    assert swd_avg == pytest.approx((swd64 + swd32 + swd16) / 3, abs=2e-4)  # MMagic's swd/avg: the levels' mean
    # the trained weights were evaluated: the same seeded samples as the validation at iteration 3
    assert [ms_ssim, swd64, swd32, swd16, swd_avg] == validated
    results = json.loads((work / "test_results.json").read_text())
    assert results["iteration"] == 3
    assert sorted(results["metrics"]) == ["ms-ssim/avg", "swd/16", "swd/32", "swd/64", "swd/avg"]
