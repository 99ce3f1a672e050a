"""`model_wrapper_cfg=dict(type='FSDP')` end to end: 2 CPU processes (gloo) shard a tiny EDSR through
FSDP2 and train it as DDP does; its DCP checkpoint written by 2 processes resumes in 1."""
import re
import subprocess

import pytest

from mgx.core.distributed.launch import free_port

from launcher_helpers import REPO, mgx, mgx_env, run_mgx

pytestmark = pytest.mark.slow

CONFIG = f"""
_base_ = [{str(REPO / 'configs' / 'edsr_digits_x2.py')!r}]
model = dict(generator=dict(mid_channels=4, num_blocks=1))
train_dataloader = dict(batch_size=2)
val_dataloader = None
val_evaluator = None
val_cfg = None
train_cfg = dict(by_epoch=False, max_iters=4, val_interval=1000)
param_scheduler = None
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2, max_keep_ckpts=-1, save_best=None))
"""
COMMON = ["--no-track", "--deterministic", "--seed", "5"]
LOSS = re.compile(r"Iter \[(\d+)/\d+\].*?train/loss: ([0-9.eE+-]+)")


def _losses(log: str) -> dict[int, float]:
    return {int(step): float(value) for step, value in LOSS.findall(log)}


def _weights(path):
    from mgx.core.engine.checkpoint import load_checkpoint, weights_of

    return weights_of(load_checkpoint(path))


def _assert_same_weights(found, expected):
    import torch

    assert found.keys() == expected.keys()
    for key in expected:
        torch.testing.assert_close(found[key], expected[key], rtol=1e-4, atol=1e-6, msg=key)


@pytest.mark.timeout(400)
def test_fsdp_trains_as_ddp_and_its_dcp_checkpoint_resumes_in_one_process(tmp_path):
    config = tmp_path / "tiny_edsr.py"
    config.write_text(CONFIG)
    # DDP and FSDP side by side (each its own port): the two launches share the start-up time
    jobs = {}
    for name, extra in (("ddp", []), ("fsdp", ["--cfg-options", "model_wrapper_cfg.type=FSDP"])):
        command = mgx("run", "train", str(config), "--work-dir", str(tmp_path / name), "--launcher", "dist",
                      "--gpus", "2", "--master-port", str(free_port()), *COMMON, *extra)
        jobs[name] = subprocess.Popen(command, cwd=tmp_path, env=mgx_env(), stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
    logs = {}
    for name, job in jobs.items():
        out, err = job.communicate(timeout=300)
        assert job.returncode == 0, f"{name}: {err[-3000:]}"
        logs[name] = out + err
    fsdp_dir = tmp_path / "fsdp"
    assert (fsdp_dir / "iter_2.dcp" / ".metadata").is_file() and (fsdp_dir / "iter_4.dcp" / ".metadata").is_file()
    assert sorted(p.name for p in (fsdp_dir / "iter_4.dcp").glob("*.distcp")) == ["__0_0.distcp", "__1_0.distcp"]
    # the same loss curve (rank 0's losses) and the same final weights as DDP
    ddp_losses, fsdp_losses = _losses(logs["ddp"]), _losses(logs["fsdp"])
    assert sorted(ddp_losses) == [1, 2, 3, 4]
    assert fsdp_losses == pytest.approx(ddp_losses, abs=1e-4)  # as printed: 4 significant digits
    ddp_final = _weights(tmp_path / "ddp" / "iter_4.pth")
    _assert_same_weights(_weights(fsdp_dir / "iter_4.pth"), ddp_final)

    # iter_2, written by 2 processes, resumed by 1 with the same global batch: the same iteration 4
    resumed_dir = tmp_path / "resumed"
    resumed_dir.mkdir()
    for name in ("iter_2.pth", "iter_2.dcp"):
        (fsdp_dir / name).rename(resumed_dir / name)
    resumed = run_mgx(["run", "train", str(config), "--work-dir", str(resumed_dir), *COMMON,
                       "--resume", str(resumed_dir / "iter_2.pth"), "--cfg-options", "model_wrapper_cfg.type=FSDP",
                       "train_dataloader.batch_size=4"], cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed from" in resumed.stderr and "UserWarning" not in resumed.stderr
    assert (resumed_dir / "iter_4.dcp" / ".metadata").is_file()
    _assert_same_weights(_weights(resumed_dir / "iter_4.pth"), ddp_final)
