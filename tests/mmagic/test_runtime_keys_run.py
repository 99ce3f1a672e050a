"""A real ``mgx run train`` on MMagic's runtime keys (its ``default_runtime.py`` as a base, copied
from the wheel): they are used or mapped, the rest is named once, and a ``custom_imports``
plugin's lifecycle hook fires for the run."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

CONFIG = """
_base_ = '{base}'
custom_imports = dict(imports=['run_marker_plugin'], allow_failed_imports=False)
model = dict(type='DCGAN', latent_dim=8, image_size=16, channels=3, base_channels=8)
train_pipeline = [dict(type='PackInputs')]
train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False, drop_last=True,
                        sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(type='DigitsDataset', image_size=16, split='train', pipeline=train_pipeline))
optim_wrapper = dict(constructor='MultiOptimWrapperConstructor',
                     generator=dict(optimizer=dict(type='Adam', lr=1e-3, betas=(0.5, 0.999))),
                     discriminator=dict(optimizer=dict(type='Adam', lr=1e-3, betas=(0.5, 0.999))))
param_scheduler = [dict(type='LinearLR', start_factor=0.5, by_epoch=False, begin=0, end=3),
                   dict(type='MultiStepLR', by_epoch=False, milestones=[3], gamma=0.1)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=4, val_interval=100)
default_hooks = dict(logger=dict(interval=2),
                     checkpoint=dict(interval=2, out_dir='{out_dir}', save_best=None, max_keep_ckpts=1,
                                     save_optimizer=False))
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel', broadcast_buffers=False,
                         find_unused_parameters=False)
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='nccl'))
log_level = 'INFO'
"""

PLUGIN = """
from mgx.core.hookspecs import hookimpl


@hookimpl
def mgx_before_run(run):
    (run.work_dir / "custom_import_hook_ran").write_text(str(run.cfg["optim_wrapper"]["generator"]["optimizer"]["lr"]))
"""


@pytest.mark.slow
def test_mmagic_runtime_keys_train(tmp_path):
    base = HERE / "configs" / "_base_" / "default_runtime.py"
    work = tmp_path / "work_dirs" / "run"
    (tmp_path / "run.py").write_text(CONFIG.format(base=base, out_dir=tmp_path / "work_dirs"))
    (tmp_path / "run_marker_plugin.py").write_text(PLUGIN)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, "-m", "mgx.cli", "run", "train", "run.py", "--work-dir", str(work),
                             "--no-track"], cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (work / "custom_import_hook_ran").read_text() == "0.001"
    assert sorted(p.name for p in work.glob("iter_*.pth")) == ["iter_4.pth"]  # max_keep_ckpts=1, in work_dir
    log = result.stderr
    ignored = [line for line in log.splitlines() if "config keys mgx does not use (ignored)" in line]
    assert len(ignored) == 1
    for name in ("visualizer.fn_key", "visualizer.img_keys"):
        assert name in ignored[0]
    # a helper variable copied into the loader's pipeline was used, not ignored; so was save_dir, which
    # default_runtime.py's own code reads (`out_dir=save_dir`): the keys built from it speak for it
    for mapped in ("save_dir", "train_pipeline", "env_cfg", "model_wrapper_cfg", "default_scope", "log_processor",
                   "resume", "load_from"):
        assert mapped not in ignored[0]
    assert "custom_hooks BasicVisualizationHook: mgx saves a sample grid at every validation" in log
    assert "save_optimizer=False: mgx keeps the optimizer state" in log
    assert "out_dir" not in log  # out_dir/<work_dir name> is the work_dir: nothing to say
    assert "Traceback" not in log
