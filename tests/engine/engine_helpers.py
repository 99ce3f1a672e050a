"""Helpers for engine tests: tiny configs and ``mgx`` in a real subprocess.

Test modules import these from ``engine_helpers`` (a unique module name; every
test folder has its own conftest)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

TINY_CONFIG = """
model = dict(type='DCGAN', latent_dim=8, image_size=16, channels=3, base_channels=8)
ema_config = dict(momentum=0.9, interval=1)
train_dataloader = dict(
    batch_size=16,
    dataset=dict(type='DigitsDataset', image_size=16, split='train', pipeline=[dict(type='PackInputs')]),
    sampler=dict(type='InfiniteSampler', shuffle=True),
    drop_last=True)
optim_wrapper = dict(
    generator=dict(optimizer=dict(type='Adam', lr=1e-3, betas=(0.5, 0.999))),
    discriminator=dict(optimizer=dict(type='Adam', lr=1e-3, betas=(0.5, 0.999))))
param_scheduler = dict(type='StepLR', step_size=7, gamma=0.9)
train_cfg = dict(by_epoch=False, max_iters={max_iters}, val_begin=1, val_interval={val_interval})
val_dataloader = dict(
    batch_size=32,
    dataset=dict(type='DigitsDataset', image_size=16, split='val', pipeline=[dict(type='PackInputs')]),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Evaluator', metrics=[dict(type='SWD', prefix='SWD', fake_nums=32, image_shape=(3, 16, 16))])
default_hooks = dict(logger=dict(interval=5),
                     checkpoint=dict(interval={ckpt_interval}, max_keep_ckpts=-1, save_best='SWD/avg', rule='less'))
randomness = dict(seed=7, deterministic=True)
"""


def write_tiny_config(folder: Path, name: str = "tiny.py", max_iters: int = 12, val_interval: int = 6,
                      ckpt_interval: int = 1, extra: str = "") -> Path:
    path = folder / name
    path.write_text(TINY_CONFIG.format(max_iters=max_iters, val_interval=val_interval,
                                       ckpt_interval=ckpt_interval) + extra)
    return path


def mgx_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    env["MGX_PLUGINS"] = "engine_test_plugin"
    env.setdefault("OMP_NUM_THREADS", "1")
    env.update(extra)
    return env


def mgx_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "mgx.cli", *args]


def run_mgx(*args: str, cwd: Path, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(mgx_command(*args), cwd=cwd, env=mgx_env(**env), capture_output=True, text=True,
                          timeout=timeout)
