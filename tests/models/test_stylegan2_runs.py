"""configs/stylegan2_digits.py through the real CLI: training, exact resume after SIGKILL,
DDP equivalence, and `mgx run test` with PPL (W, Z) and EQ on 1 and 2 processes."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from mgx.core.engine.checkpoint import weights_of

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "configs" / "stylegan2_digits.py"
# 16 px, 8 channels: seconds per run on a CPU core
SMALL = ["model.generator.out_size=16", "model.discriminator.in_size=16", "model.generator.channel_max=8",
         "model.discriminator.channel_max=8", "model.generator.style_channels=8", "model.generator.num_mlps=2",
         "train_dataloader.dataset.image_size=16", "val_dataloader.dataset.image_size=16",
         "test_dataloader.dataset.image_size=16", "model.loss_config.r1_interval=2",
         "model.loss_config.g_reg_interval=3", "val_evaluator.metrics=[]", "default_hooks.logger.interval=1"]


def mgx_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    env["OMP_NUM_THREADS"] = "1"
    # the metric tests' tiny extractors (TinyLPIPS) as a local plugin, as a user would add one
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "tests" / "metrics"), env.get("PYTHONPATH")]))
    env["MGX_PLUGINS"] = "metric_test_nets"
    return env


def mgx(*args: str, cwd: Path, timeout: float = 400) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mgx.cli", *args], cwd=cwd, env=mgx_env(), capture_output=True,
                          text=True, timeout=timeout)


def train_args(work: Path, iters: int, batch: int = 8, *extra: str) -> list[str]:
    return ["run", "train", str(CONFIG), "--work-dir", str(work), "--no-track", "--deterministic", "--seed", "3",
            "--cfg-options", *SMALL, f"train_cfg.max_iters={iters}", "train_cfg.val_interval=1000",
            f"train_dataloader.batch_size={batch}", "default_hooks.checkpoint.interval=1",
            "default_hooks.checkpoint.max_keep_ckpts=-1", "default_hooks.checkpoint.save_best=None", *extra]


def state(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


@pytest.mark.timeout(300)
def test_digits_config_trains_a_few_iterations(tmp_path):
    result = mgx(*train_args(tmp_path / "w", 4), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "loss_path_regular" in result.stderr and "loss_r1_gp" in result.stderr
    weights = weights_of(state(tmp_path / "w" / "iter_4.pth"))
    assert int(weights["train_iter"]) == 4 and int(weights["generator_ema.steps"]) == 4
    assert float(weights["mean_path_length"]) > 0


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_resume_after_sigkill_is_bit_exact(tmp_path):
    iters = 7
    straight = mgx(*train_args(tmp_path / "straight", iters), cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr[-3000:]
    work = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, "-m", "mgx.cli", *train_args(work, iters)], cwd=tmp_path,
                               env=mgx_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not (work / "iter_3.pth").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert not (work / f"iter_{iters}.pth").exists(), "the kill came too late to test resuming"
    resumed = subprocess.run([sys.executable, "-m", "mgx.cli", *train_args(work, iters)[:6], "--resume",
                              *train_args(work, iters)[6:]], cwd=tmp_path, env=mgx_env(), capture_output=True,
                             text=True, timeout=400)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed from" in resumed.stderr
    expected, got = state(tmp_path / "straight" / f"iter_{iters}.pth"), state(work / f"iter_{iters}.pth")
    for key, value in expected["model"].items():
        assert torch.equal(got["model"][key], value), key
    assert repr(got["optimizers"]) == repr(expected["optimizers"])


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_two_processes_step_like_one_with_the_same_global_batch(tmp_path):
    iters = 4
    # MMagic's runtime seeds each rank differently: what DDP does not broadcast must still agree
    one = mgx(*train_args(tmp_path / "one", iters, 8, "randomness.diff_rank_seed=True"), cwd=tmp_path)
    assert one.returncode == 0, one.stderr[-3000:]
    args = train_args(tmp_path / "two", iters, 4, "randomness.diff_rank_seed=True")
    two = mgx(*args[:6], "--launcher", "dist", "--gpus", "2", *args[6:], cwd=tmp_path)
    assert two.returncode == 0, two.stderr[-3000:]
    single = weights_of(state(tmp_path / "one" / f"iter_{iters}.pth"))
    ddp = weights_of(state(tmp_path / "two" / f"iter_{iters}.pth"))
    assert single.keys() == ddp.keys()
    for key in single:
        torch.testing.assert_close(ddp[key], single[key], rtol=1e-4, atol=1e-5, msg=key)


TEST_METRICS = ("test_evaluator.metrics=["
                "dict(type='PerceptualPathLength',fake_nums=12,prefix='ppl-w',space='W',crop=False,"
                "feature_extractor=dict(type='TinyLPIPS')),"
                "dict(type='PerceptualPathLength',fake_nums=12,prefix='ppl-z',space='Z',crop=False,"
                "feature_extractor=dict(type='TinyLPIPS')),"
                "dict(type='Equivariance',fake_nums=6,prefix='EQ',eq_cfg=dict(compute_eqt_int=True,"
                "compute_eqt_frac=True,compute_eqr=True))]")


def test_line(output: str) -> str:
    lines = [line.split("INFO - ", 1)[-1].rsplit("(", 1)[0].strip() for line in output.splitlines() if "Test " in line]
    assert lines, output[-3000:]
    return lines[-1]


test_line.__test__ = False  # a helper, not a test


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_ppl_and_eq_through_mgx_run_test_match_on_one_and_two_processes(tmp_path):
    trained = mgx(*train_args(tmp_path / "w", 2), cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]
    checkpoint = tmp_path / "w" / "iter_2.pth"
    common = ["--no-track", "--cfg-options", *SMALL, TEST_METRICS]
    local = mgx("run", "test", str(CONFIG), str(checkpoint), "--work-dir", str(tmp_path / "t1"), *common,
                cwd=tmp_path)
    assert local.returncode == 0, local.stderr[-3000:]
    dist = mgx("run", "test", str(CONFIG), str(checkpoint), "--work-dir", str(tmp_path / "t2"), "--launcher", "dist",
               "--gpus", "2", *common, cwd=tmp_path)
    assert dist.returncode == 0, dist.stderr[-3000:]
    line = test_line(local.stderr)
    for key in ("ppl-w/ppl_score", "ppl-z/ppl_score", "EQ/eqt_int", "EQ/eqt_frac", "EQ/eqr"):
        assert f"{key}: " in line, line
    assert test_line(dist.stderr) == line
