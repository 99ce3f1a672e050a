"""The shipped configs train end to end on a shortened schedule, and `mgx run test` evaluates the result."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from engine_helpers import REPO, run_mgx

CONFIGS = REPO / "configs"
SHORT_GAN = ["train_cfg.max_iters=12", "train_cfg.val_interval=6", "default_hooks.checkpoint.interval=6",
             "default_hooks.logger.interval=3"]


@pytest.mark.timeout(600)
def test_example_config_trains_then_tests(tmp_path: Path) -> None:
    work = tmp_path / "work"
    fewer_fakes = ["val_evaluator.metrics.0.fake_nums=64", "val_evaluator.metrics.1.fake_nums=64",
                   "test_evaluator.metrics.0.fake_nums=64", "test_evaluator.metrics.1.fake_nums=64"]
    trained = run_mgx("run", "train", str(CONFIGS / "example_config.py"), "--work-dir", str(work),
                      "--cfg-options", *SHORT_GAN, *fewer_fakes, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert re.search(r"Iter\(val\) \[12\]  SWD/32: [\d.]+  SWD/16: [\d.]+  SWD/avg: [\d.]+  MS-SSIM/avg: [\d.]+",
                     trained.stderr), trained.stderr
    assert "training finished at iteration 12" in trained.stderr
    assert (work / "samples" / "iter_0000006.png").is_file() and (work / "samples" / "iter_0000012.png").is_file()
    assert (work / "example_config.py").is_file(), "the resolved config is saved in work_dir"
    assert list(work.glob("*.log")), "a text log is written"
    best = list(work.glob("best_SWD_avg_iter_*.pth"))
    assert len(best) == 1
    assert (tmp_path / "mlflow.db").is_file(), "the run is recorded in the workspace's embedded MLflow store"

    out = tmp_path / "results.json"
    tested = run_mgx("run", "test", str(CONFIGS / "example_config.py"), str(best[0]), "--work-dir",
                     str(tmp_path / "test"), "--out", str(out), "--cfg-options", *fewer_fakes, cwd=tmp_path)
    assert tested.returncode == 0, tested.stderr
    results = json.loads(out.read_text())
    assert set(results["metrics"]) == {"SWD/32", "SWD/16", "SWD/avg", "MS-SSIM/avg"}
    shown = "  ".join(f"{key}: {value:.4f}" for key, value in results["metrics"].items())
    assert shown in tested.stderr

    only_swd = run_mgx("run", "test", str(CONFIGS / "example_config.py"), str(best[0]), "--work-dir",
                       str(tmp_path / "test2"), "--metrics", "SWD", "--no-track", "--cfg-options", *fewer_fakes,
                       cwd=tmp_path)
    assert only_swd.returncode == 0, only_swd.stderr
    assert "SWD/avg" in only_swd.stderr and "MS-SSIM" not in only_swd.stderr.split("Test")[-1]


@pytest.mark.timeout(600)
def test_restoration_config_trains_with_paired_metrics(tmp_path: Path) -> None:
    work = tmp_path / "work"
    trained = run_mgx("run", "train", str(CONFIGS / "srcnn_digits.py"), "--work-dir", str(work), "--no-track",
                      "--cfg-options", "train_cfg.max_iters=30", "train_cfg.val_interval=15",
                      "default_hooks.checkpoint.interval=15", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    psnr = [float(v) for v in re.findall(r"Iter\(val\) \[\d+\]  PSNR: ([\d.]+)  SSIM: [\d.]+  MAE: [\d.]+",
                                         trained.stderr)]
    assert len(psnr) == 2 and psnr[1] > 10, trained.stderr
    assert list(work.glob("best_PSNR_iter_*.pth"))
    assert (work / "samples" / "iter_0000030.png").is_file()


@pytest.mark.timeout(600)
def test_folder_validation_config_in_the_seeds_form(tmp_path: Path) -> None:
    from PIL import Image
    from sklearn.datasets import load_digits

    folder = tmp_path / "data" / "digits-png"
    folder.mkdir(parents=True)
    for index, image in enumerate(load_digits().images[:40]):
        Image.fromarray((image * 15).astype("uint8")).convert("RGB").save(folder / f"{index:03d}.png")
    trained = run_mgx("run", "train", str(CONFIGS / "dcgan_folder_val.py"), "--work-dir", str(tmp_path / "w"),
                      "--no-track", "--cfg-options", "train_cfg.max_iters=6", "train_cfg.val_interval=6",
                      "val_evaluator.0.metrics.0.fake_nums=32", "val_evaluator.1.metrics.0.fake_nums=32",
                      cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert re.search(r"SWD-folder/avg: [\d.]+  SWD-digits/32: ", trained.stderr), trained.stderr
