"""MMagic 1.2.0's SRCNN, EDSR, MSRResNet and ESRGAN configs (copied unchanged into tests/mmagic/configs/)
train 2 iterations with `mgx run train` and are evaluated by `mgx run test`, with only sizes (batch size,
training crop) and the ESRGAN's pretrained-generator path overridden. The DIV2K/Set5/Set14 folders and
meta-info files the configs name are written by the test under the run's working directory (the configs'
data_root is the relative 'data')."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "tests" / "mmagic" / "configs"
HR_SIZE = 128  # ESRGAN's ModifiedVGG needs 128×128 ground-truth crops, as in MMagic

CASES = {  # config: (scale, training gt_patch_size)
    "srcnn/srcnn_x4k915_1xb16-1000k_div2k.py": (4, 32),
    "edsr/edsr_x2c64b16_1xb16-300k_div2k.py": (2, 32),
    "srgan_resnet/msrresnet_x4c64b16_1xb16-1000k_div2k.py": (4, 32),
    "esrgan/esrgan_x4c64b23g32_1xb16-400k_div2k.py": (4, 128),
}


def _write_pair(hr: np.ndarray, hr_path: Path, lr_paths: dict[int, Path]) -> None:
    Image.fromarray(hr).save(hr_path)
    for scale, path in lr_paths.items():
        Image.fromarray(hr).resize((HR_SIZE // scale,) * 2, Image.Resampling.BICUBIC).save(path)


def write_sr_folders(root: Path) -> None:
    """data/DIV2K (sub-images + meta-info files), data/Set5 and data/Set14 as MMagic's SR configs expect."""
    rng = np.random.default_rng(0)
    folders = {"DIV2K": ("DIV2K_train_HR_sub", {2: "DIV2K_train_LR_bicubic/X2_sub", 4: "DIV2K_train_LR_bicubic/X4_sub"}),
               "Set5": ("GTmod12", {2: "LRbicx2", 4: "LRbicx4"}),
               "Set14": ("GTmod12", {2: "LRbicx2", 4: "LRbicx4"})}
    for dataset, (hr_dir, lr_dirs) in folders.items():
        base = root / "data" / dataset
        for sub in (hr_dir, *lr_dirs.values()):
            (base / sub).mkdir(parents=True, exist_ok=True)
        names = []
        for index in range(3 if dataset == "DIV2K" else 2):
            coarse = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)  # smooth-ish content, like photos
            hr = np.asarray(Image.fromarray(coarse).resize((HR_SIZE, HR_SIZE), Image.Resampling.BICUBIC))
            name = f"{index + 1:04d}_s001.png" if dataset == "DIV2K" else f"img_{index:03d}.png"
            _write_pair(hr, base / hr_dir / name, {s: base / d / name for s, d in lr_dirs.items()})
            names.append(f"{name} ({HR_SIZE},{HR_SIZE},3)")
        if dataset == "DIV2K":
            for meta in ("meta_info_DIV2K800sub_GT.txt", "meta_info_DIV2K100sub_GT.txt"):
                (base / meta).write_text("\n".join(names) + "\n")


def _mgx(*args, cwd, env):
    return subprocess.run([sys.executable, "-m", "mgx.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)


@pytest.mark.slow  # MMagic's full-width networks (ESRGAN: 23 RRDBs and VGG19) on CPU
@pytest.mark.timeout(1200)
@pytest.mark.parametrize("config", list(CASES))
def test_mmagic_sr_config_trains_and_tests(config, tmp_path):
    scale, patch = CASES[config]
    write_sr_folders(tmp_path)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MGX_OFFLINE": "1", "MGX_CACHE_DIR": str(tmp_path / "cache")}
    options = ["train_dataloader.batch_size=2", f"train_dataloader.dataset.pipeline.3.gt_patch_size={patch}"]
    paths: list[str] = []  # path overrides both commands need
    if config.startswith("esrgan/"):
        from torchvision.models.vgg import cfgs, make_layers

        from mgx.core.plugins import PluginManager
        from mgx.core.registry import build

        PluginManager(["mgx.plugins.models"]).activate()
        # the PSNR-oriented generator MMagic downloads, in MMEngine's checkpoint layout (random weights here)
        generator = build(dict(type="RRDBNet", in_channels=3, out_channels=3, mid_channels=64, num_blocks=23,
                               growth_channels=32, upscale_factor=4), "model")
        pretrained = tmp_path / "esrgan_psnr-local.pth"
        torch.save({"state_dict": {f"generator.{k}": v for k, v in generator.state_dict().items()}}, pretrained)
        paths.append(f"model.generator.init_cfg.checkpoint={pretrained}")  # mgx loads it whenever it builds
        # ImageNet VGG19 weights for PerceptualLoss come through the hashed-weights path; random ones here
        vgg_file = tmp_path / "vgg19-random.pth"
        torch.save({f"features.{k}": v for k, v in make_layers(cfgs["E"]).state_dict().items()}, vgg_file)
        env["MGX_VGG19_TORCHVISION_PATH"] = str(vgg_file)
    common = ["--no-track", "--cfg-options", "train_cfg.max_iters=2", "train_cfg.val_interval=2", *options, *paths]
    work = tmp_path / "work"
    trained = _mgx("run", "train", str(CONFIGS / config), "--work-dir", str(work), *common, cwd=tmp_path, env=env)
    assert trained.returncode == 0, trained.stderr[-4000:]
    assert "PSNR" in trained.stderr
    checkpoints = sorted(tmp_path.rglob("iter_2.pth"))
    assert checkpoints, f"no iter_2.pth under {tmp_path}: {trained.stderr[-2000:]}"
    assert list(work.rglob("samples/*.png")), "the validation sample grid was not written"
    tested = _mgx("run", "test", str(CONFIGS / config), str(checkpoints[0]), "--work-dir", str(tmp_path / "test"),
                  "--no-track", *(["--cfg-options", *paths] if paths else []), cwd=tmp_path, env=env)
    assert tested.returncode == 0, tested.stderr[-4000:]
    metrics = json.loads((tmp_path / "test" / "test_results.json").read_text())["metrics"]
    for prefix in ("Set5", "Set14", "DIV2K"):
        assert np.isfinite(metrics[f"{prefix}/PSNR"]) and 0 < metrics[f"{prefix}/SSIM"] <= 1, metrics
