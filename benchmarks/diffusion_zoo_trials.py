"""MMagic 1.2.0's diffusion configs (12 families, 33 configs): `mgx run train` 2 iterations, then
`mgx run test` (which samples the config's val_prompts), with the pretrained names pointed at a tiny
random pipeline folder (tests/models/diffusion_tiny.py) and 8 digit images as the DreamBooth subject.
Overridden: model paths, image size, sampling steps, loader workers, iterations. A config that does
not run prints mgx's own error (first line). Needs the `diffusion` extra.

    python benchmarks/diffusion_zoo_trials.py [FAMILY ...]   # MGX_MMAGIC_CONFIGS: the configs folder
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "models"))
from diffusion_tiny import build_tiny_pipeline, model_path_options  # noqa: E402

ROOT = Path(os.environ.get("MGX_MMAGIC_CONFIGS", "/work/mmagic/src/mmagic/.mim/configs"))
FAMILIES = ("stable_diffusion", "stable_diffusion_xl", "controlnet", "controlnet_animation", "dreambooth",
            "textual_inversion", "vico", "fastcomposer", "animatediff", "diffusers_pipeline", "guided_diffusion",
            "disco_diffusion")
TRAIN = ["train_cfg.max_iters=2", "train_dataloader.num_workers=0", "train_dataloader.persistent_workers=False",
         "train_dataloader.dataset.pipeline.1.scale=(16,16)", "model.num_inference_steps=2"]


def _mgx(args, cwd):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MGX_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "mgx.cli", *args], cwd=cwd, env=env, capture_output=True, text=True)


def _error(result) -> str:
    lines = [line for line in result.stderr.splitlines() if "Error" in line or "error" in line]
    return (lines[-1] if lines else result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "?")[:200]


def trial(config: Path, work: Path, paths: list[str]) -> str:
    from mgx.core.config import load_config

    try:
        if not load_config(str(config)).get("train_dataloader"):
            return "not run: inference-only config (no train_dataloader, nothing to train or test from)"
    except Exception as exc:  # a config mgx can not even load is reported as such
        return f"not run: the config does not load: {str(exc).splitlines()[0][:200]}"
    trained = _mgx(["run", "train", str(config), "--work-dir", str(work / "train"), "--no-track",
                    "--cfg-options", *TRAIN, *paths], work.parent)
    if trained.returncode != 0:
        return f"train FAILED: {_error(trained)}"
    tested = _mgx(["run", "test", str(config), str(work / "train" / "iter_2.pth"), "--work-dir", str(work / "test"),
                   "--no-track", "--cfg-options", "model.num_inference_steps=2", *paths], work.parent)
    if tested.returncode != 0:
        return f"train ok, test FAILED: {_error(tested)}"
    grids = len(list((work / "test" / "samples").glob("*/*.png")))
    return f"ok (train 2 iterations, test: {grids} prompt grids)"


def main(families) -> None:
    base = Path(tempfile.mkdtemp(prefix="diffusion_zoo_trials_"))
    paths = model_path_options(build_tiny_pipeline(base / "tiny_sd"))
    images = base / "data" / "dreambooth" / "imgs"
    images.mkdir(parents=True)
    from PIL import Image
    import numpy as np
    from sklearn.datasets import load_digits

    for index, digit in enumerate(load_digits().images[:8]):
        gray = (digit / 16 * 255).astype(np.uint8)
        Image.fromarray(np.stack([gray] * 3, -1)).resize((16, 16)).save(images / f"{index}.png")
    passed = total = 0
    for family in families:
        for config in sorted((ROOT / family).glob("*.py")):
            total += 1
            line = trial(config, base / config.stem, paths)
            passed += line.startswith("ok")
            print(f"{family}/{config.name}: {line}", flush=True)
    print(f"{passed}/{total} configs train 2 iterations and pass mgx run test")


if __name__ == "__main__":
    main(sys.argv[1:] or FAMILIES)
