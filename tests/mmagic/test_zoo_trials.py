"""benchmarks/zoo_trials.py on MMagic's SRCNN config (copied unchanged under tests/mmagic/configs/):
the data layout benchmarks/zoo_data.py writes for it, then one fast trial and its tables."""
from __future__ import annotations

from pathlib import Path

from mgx.benchmarks.zoo_data import Sizes, prepare_trial

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "tests" / "mmagic" / "configs"
SRCNN = "srcnn/srcnn_x4k915_1xb16-1000k_div2k.py"


def test_the_srcnn_layout_and_overrides(tmp_path: Path) -> None:
    from PIL import Image

    from mgx.core.config import load_config

    trial = prepare_trial(load_config(CONFIGS / SRCNN), tmp_path, Sizes(crop=16, image=16, count=2))
    div2k = tmp_path / "data" / "DIV2K"
    # meta-info file as MMagic's: the GT names (first field) with their shape
    assert (div2k / "meta_info_DIV2K800sub_GT.txt").read_text() == "0001.png (24,24,3)\n0002.png (24,24,3)\n"
    assert Image.open(div2k / "DIV2K_train_HR_sub" / "0001.png").size == (24, 24)
    assert Image.open(div2k / "DIV2K_train_LR_bicubic" / "X4_sub" / "0002.png").size == (6, 6)  # scale 4
    for folder in ("Set5", "Set14"):
        assert Image.open(tmp_path / "data" / folder / "LRbicx4" / "0001.png").size == (6, 6)
    assert "train_dataloader.dataset.pipeline.3.gt_patch_size=16" in trial.options
    assert {"train_cfg.max_iters=2", "test_dataloader.2.batch_size=2"} <= set(trial.options)


def test_zoo_trials_runs_a_family_and_prints_its_tables(tmp_path: Path, capsys, monkeypatch,
                                                        restore_registry_source) -> None:
    from mgx.benchmarks.zoo_trials import main

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("MGX_TEST_CACHE", str(tmp_path / "cache"))
    assert main(["--family", "srcnn", "--fast", "--configs-dir", str(CONFIGS)]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| srcnn")]
    assert rows[0].startswith(f"| {SRCNN} | ok | ok | "), rows
    assert rows[1] == ("| srcnn | 1 | trains+tests with data paths only (1/1) | "
                       "`python benchmarks/zoo_trials.py --family srcnn --fast` |"), rows
