"""MMagic 1.2.0's dreambooth-lora config (copied unchanged into tests/mmagic/configs/dreambooth/) through
the CLI: `mgx run train` 2 iterations on 8 digit images and `mgx run test` logging one sample grid per
val_prompt to MLflow, with only the model paths (a tiny random pipeline folder the test writes), image
size, sampling steps and loader workers overridden. And the one message a diffusion config gets when
the `diffusion` extra is not installed."""
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "tests" / "mmagic" / "configs" / "dreambooth" / "dreambooth-lora.py"
VAL_PROMPTS = 7  # the config's val_prompts


def _mgx(*args, cwd, env):
    return subprocess.run([sys.executable, "-m", "mgx.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def _write_digits(folder: Path) -> None:
    from sklearn.datasets import load_digits

    folder.mkdir(parents=True)
    for index, image in enumerate(load_digits().images[:8]):
        gray = (image / 16 * 255).astype(np.uint8)
        Image.fromarray(np.stack([gray] * 3, -1)).resize((16, 16), Image.Resampling.BICUBIC).save(folder / f"{index}.png")


@pytest.mark.timeout(600)
def test_dreambooth_lora_config_trains_and_samples_its_prompts(tmp_path):
    pytest.importorskip("diffusers")
    from mgx.benchmarks.zoo_data.diffusion import build_tiny_pipeline, model_path_options

    paths = model_path_options(build_tiny_pipeline(tmp_path / "tiny_sd"))
    _write_digits(tmp_path / "data" / "dreambooth" / "imgs")  # the config's data_root/concept_dir
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MGX_OFFLINE": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)  # the workspace's own store, under tmp_path
    train_options = ["train_cfg.max_iters=2", "train_dataloader.num_workers=0", "train_dataloader.persistent_workers=False",
                     "train_dataloader.dataset.pipeline.1.scale=(16,16)"]
    trained = _mgx("run", "train", str(CONFIG), "--work-dir", str(tmp_path / "work"), "--no-track",
                   "--cfg-options", *train_options, *paths, cwd=tmp_path, env=env)
    assert trained.returncode == 0, trained.stderr[-4000:]
    losses = [float(value) for value in re.findall(r"train/loss_mse: ([-+0-9.eEnainf]+)", trained.stderr)]
    assert losses and all(math.isfinite(value) for value in losses), trained.stderr[-2000:]
    checkpoint = tmp_path / "work" / "iter_2.pth"
    assert checkpoint.is_file()
    # the trained model in diffusers' own format: diffusers alone loads it and it generates
    from diffusers import StableDiffusionPipeline

    pipeline = StableDiffusionPipeline.from_pretrained(str(tmp_path / "work" / "diffusers"))
    assert pipeline("a photo of sks digit", num_inference_steps=2, output_type="np").images.shape == (1, 16, 16, 3)
    tested = _mgx("run", "test", str(CONFIG), str(checkpoint), "--work-dir", str(tmp_path / "test"),
                  "--cfg-options", "model.num_inference_steps=2", *paths, cwd=tmp_path, env=env)
    assert tested.returncode == 0, tested.stderr[-4000:]
    grids = sorted((tmp_path / "test" / "samples").glob("*/iter_0000002.png"))
    assert len(grids) == VAL_PROMPTS and (tmp_path / "test" / "samples" / "a_sks_dog_in_basket").is_dir()
    assert Image.open(grids[0]).size[1] == 16 + 2 * 2  # one row of 16-px samples (grid padding 2)
    # each prompt's grid is an MLflow image under samples/<prompt> at the checkpoint's step
    logged = {path.name.split("+step+")[0] for path in tmp_path.rglob("samples~*+step+2+*.png")}
    assert len(logged) == VAL_PROMPTS and "samples~a_sks_dog_in_basket" in logged, sorted(logged)


BLOCK_DIFFUSERS = ("import sys; sys.modules['diffusers'] = None; sys.argv = ['mgx'] + sys.argv[1:]; "
                   "from mgx.cli.main import main; main()")


def test_without_the_extra_a_diffusion_config_names_it(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    work = tmp_path / "work"
    result = subprocess.run([sys.executable, "-c", BLOCK_DIFFUSERS, "run", "train", str(CONFIG), "--work-dir", str(work),
                             "--no-track"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "pip install 'mgx[diffusion]'" in result.stderr and "DreamBooth" in result.stderr
    assert result.stderr.count("pip install 'mgx[diffusion]'") == 1
    assert not work.exists()
    listing = subprocess.run([sys.executable, "-c", BLOCK_DIFFUSERS, "plugins"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=300)
    assert listing.returncode == 0 and "mgx.plugins.diffusion" in listing.stdout
    assert "pip install 'mgx[diffusion]'" in listing.stdout
