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
    # meta-info file as MMagic's: the GT names (first field) with their shape; 16 px: a multiple of 4 × scale
    assert (div2k / "meta_info_DIV2K800sub_GT.txt").read_text() == "0001.png (16,16,3)\n0002.png (16,16,3)\n"
    assert Image.open(div2k / "DIV2K_train_HR_sub" / "0001.png").size == (16, 16)
    assert Image.open(div2k / "DIV2K_train_LR_bicubic" / "X4_sub" / "0002.png").size == (4, 4)  # scale 4
    for folder in ("Set5", "Set14"):
        assert Image.open(tmp_path / "data" / folder / "LRbicx4" / "0001.png").size == (4, 4)
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


def test_the_video_layout_and_clip_overrides(tmp_path: Path) -> None:
    """REDS as MMagic's BasicVSR config reads it: clips of frames named as GenerateSegmentIndices asks
    ({:08d}.png), the ×4 partners, the meta-info files, and the 15/100-frame clips cut to 5."""
    from PIL import Image

    from mgx.core.config import load_config

    cfg = load_config(CONFIGS / "basicvsr/basicvsr_2xb4_reds4.py")
    trial = prepare_trial(cfg, tmp_path, Sizes(crop=16, image=16, count=2))
    reds = tmp_path / "data" / "REDS"
    assert sorted(p.name for p in (reds / "train_sharp" / "000").iterdir()) == [f"{i:08d}.png" for i in range(5)]
    assert Image.open(reds / "train_sharp" / "011" / "00000004.png").size == (16, 16)
    assert Image.open(reds / "train_sharp_bicubic" / "X4" / "011" / "00000004.png").size == (4, 4)
    assert (reds / "meta_info_reds4_val.txt").read_text() == "000 (16,16,3)\n011 (16,16,3)\n"
    assert {"train_dataloader.dataset.num_input_frames=5", "val_dataloader.dataset.num_input_frames=5",
            "val_dataloader.dataset.fixed_seq_len=5"} <= set(trial.options)


def test_the_inpainting_pipeline_and_mask_overrides(tmp_path: Path) -> None:
    """Global&Local's pipeline at the trial's side: the crop, the resize after it (nothing to jitter) and
    LoadMask's box shapes scaled from MMagic's 256 px; the CelebA-HQ list file under its data root."""
    from mgx.core.config import load_config

    cfg = load_config(CONFIGS / "global_local/gl_8xb12_celeba-256x256.py")
    trial = prepare_trial(cfg, tmp_path, Sizes(crop=32, image=32, count=2))
    pipeline = [step["type"] for step in cfg["train_dataloader"]["dataset"]["pipeline"]]
    crop, resize, mask = (pipeline.index(name) for name in ("Crop", "Resize", "LoadMask"))
    prefix = "train_dataloader.dataset.pipeline"
    assert {f"{prefix}.{crop}.crop_size=(32,32)", f"{prefix}.{resize}.scale=(32,32)"} <= set(trial.options)
    masks = next(option for option in trial.options if option.startswith(f"{prefix}.{mask}.mask_config="))
    shrunk = eval(masks.split("=", 1)[1])  # noqa: S307 - the option's own repr of a dict
    assert shrunk["img_shape"] == (32, 32) and shrunk["max_bbox_shape"] == (16, 16)  # 128 of 256 px
    assert shrunk["max_bbox_delta"] == 5 and shrunk["min_margin"] == 2  # 40 and 20 of 256 px
    listing = tmp_path / cfg["train_dataloader"]["dataset"]["data_root"] / cfg["train_dataloader"]["dataset"]["ann_file"]
    assert len(listing.read_text().splitlines()) == 2


def test_tiny_widths_keep_the_layout_and_cut_the_channels() -> None:
    from mgx.benchmarks.zoo_data import image_side, tiny_options
    from mgx.core.config import load_config, to_plain

    cfg = to_plain(load_config(CONFIGS / "biggan/biggan_2xb25-500kiters_cifar10-32x32.py"))
    assert image_side(cfg, 16) == 32
    assert tiny_options(cfg, 32) == ["model.generator.input_scale=4", "model.generator.base_channels=4",
                                     "model.generator.shared_dim=8", "model.discriminator.base_channels=8"]
    assert tiny_options({"model": {"generator": {"type": "NotInTheTable"}}}, 32) == []
