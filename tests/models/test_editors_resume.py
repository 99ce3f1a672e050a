"""ESRGAN through `mgx run train`: resuming from a mid-run checkpoint ends bit-identical to the straight run
(the disc_steps schedule counter, both optimizers, schedulers and RNG included)."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nested_equal import assert_identical

CONFIG = """
scale = 4
model = dict(
    type='ESRGAN',
    generator=dict(type='RRDBNet', in_channels=3, out_channels=3, mid_channels=8, num_blocks=1, growth_channels=4,
                   upscale_factor=scale),
    discriminator=dict(type='ModifiedVGG', in_channels=3, mid_channels=4, input_size=32),
    pixel_loss=dict(type='L1Loss', loss_weight=1.0, reduction='mean'),
    gan_loss=dict(type='GANLoss', gan_type='vanilla', loss_weight=5e-3),
    train_cfg=dict(disc_steps=2),
    data_preprocessor=dict(type='DataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.]))
data = dict(type='PairedDigitsDataset', scale=scale, gt_size=32, pipeline=[dict(type='Flip', keys=['gt', 'lq']),
                                                                          dict(type='PackInputs')])
train_dataloader = dict(batch_size=4, drop_last=True, sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(data, split='train'))
val_dataloader = dict(batch_size=20, sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dict(type='PairedDigitsDataset', scale=scale, gt_size=32, split='val',
                                   pipeline=[dict(type='PackInputs')]))
val_evaluator = dict(type='Evaluator', metrics=[dict(type='PSNR', crop_border=scale)])
optim_wrapper = dict(generator=dict(optimizer=dict(type='Adam', lr=1e-3)),
                     discriminator=dict(optimizer=dict(type='Adam', lr=1e-3)))
param_scheduler = dict(type='StepLR', step_size=4, gamma=0.5)
train_cfg = dict(by_epoch=False, max_iters=7, val_begin=1, val_interval=3)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=3, max_keep_ckpts=-1))
randomness = dict(seed=3)
"""


def _mgx(*args, cwd):
    return subprocess.run([sys.executable, "-m", "mgx.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=400, env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})


@pytest.mark.slow  # two short `mgx run train` processes
@pytest.mark.timeout(600)
def test_esrgan_resume_is_bit_identical(tmp_path: Path):
    config = tmp_path / "esrgan_tiny.py"
    config.write_text(CONFIG)
    straight = _mgx("run", "train", str(config), "--work-dir", str(tmp_path / "straight"), "--no-track",
                    "--deterministic", cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr[-3000:]
    assert "loss_gan" in straight.stderr and "PSNR" in straight.stderr
    resumed_dir = tmp_path / "resumed"
    resumed_dir.mkdir()
    shutil.copy(tmp_path / "straight" / "iter_3.pth", resumed_dir / "iter_3.pth")
    resumed = _mgx("run", "train", str(config), "--work-dir", str(resumed_dir), "--no-track", "--deterministic",
                   "--resume", str(resumed_dir / "iter_3.pth"), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed from" in resumed.stderr
    expected = torch.load(tmp_path / "straight" / "iter_7.pth", weights_only=True)
    final = torch.load(resumed_dir / "iter_7.pth", weights_only=True)
    assert int(final["model"]["step_counter"]) == 7
    for part in ("model", "optimizers", "schedulers"):
        assert_identical(final[part], expected[part], part)
