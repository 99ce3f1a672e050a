"""Train an MMagic config 2 iterations and test its checkpoint through the CLI, on the synthetic data
``benchmarks/zoo_data/`` writes (with its stand-ins for downloaded parts); only sizes and widths
are overridden. For the families' CI runs (test_dic.py, test_ttsr.py)."""
import json
import os
from pathlib import Path

from mgx.benchmarks.zoo_data import Sizes, prepare_trial
from mgx.core.config import load_config
from mgx_subprocess import run_mgx


def train_and_test(tmp_path: Path, config: Path, width: list[str]) -> tuple[dict, str]:
    """(the test's metrics, the training's log); asserts both commands succeed."""
    trial = prepare_trial(load_config(config), tmp_path, Sizes(crop=16, image=16, count=2))
    env = {**os.environ, **trial.env, "OMP_NUM_THREADS": "1", "MGX_OFFLINE": "1"}

    def mgx(*args):
        return run_mgx(*args, "--no-track", "--cfg-options", *trial.options, *width, "train_dataloader.num_workers=0",
                       "val_dataloader.num_workers=0", cwd=tmp_path, env=env)

    trained = mgx("run", "train", str(config), "--work-dir", str(tmp_path / "work"))
    assert trained.returncode == 0, trained.stderr[-3000:]
    tested = mgx("run", "test", str(config), str(tmp_path / "work" / "iter_2.pth"), "--work-dir", str(tmp_path / "t"))
    assert tested.returncode == 0, tested.stderr[-3000:]
    return json.loads((tmp_path / "t" / "test_results.json").read_text())["metrics"], trained.stderr
