"""Bad input: one clear message, exit 2 for usage/config and 1 for runtime, no traceback, nothing half-written."""
from __future__ import annotations

import resource
import signal
import subprocess
from pathlib import Path

import pytest
import torch

from engine_helpers import mgx_command, mgx_env, run_mgx, write_tiny_config


def _fails(result: subprocess.CompletedProcess, code: int, *fragments: str) -> str:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    message = result.stderr
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def test_missing_config(tmp_path: Path) -> None:
    _fails(run_mgx("run", "train", "nope.py", cwd=tmp_path), 2, "nope.py", "does not exist")


def test_config_is_a_folder(tmp_path: Path) -> None:
    _fails(run_mgx("run", "train", str(tmp_path), cwd=tmp_path), 2, "is a directory")


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = run_mgx("--debug", "run", "train", "nope.py", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_missing_checkpoint(tiny_config: Path, tmp_path: Path) -> None:
    _fails(run_mgx("run", "test", str(tiny_config), "missing.pth", "--no-track", cwd=tmp_path), 2,
           "checkpoint missing.pth does not exist")


def test_corrupt_checkpoint(tiny_config: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"PK\x03\x04 this is not a checkpoint")
    _fails(run_mgx("run", "test", str(tiny_config), str(bad), "--no-track", cwd=tmp_path), 1, "bad.pth", "corrupt")


def test_checkpoint_of_another_model(tiny_config: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.pth"
    torch.save({"model": {"body.weight": torch.zeros(3), "generator.net.0.weight": torch.zeros(1)}, "meta": {}}, other)
    message = _fails(run_mgx("run", "test", str(tiny_config), str(other), "--no-track", cwd=tmp_path), 2,
                     "does not fit model DCGAN", "missing keys:", "unexpected keys: body.weight")
    assert "shape mismatch: generator.net.0.weight" in message


def test_empty_dataset_folder(tiny_config: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    override = f"train_dataloader.dataset=dict(type='BasicImageDataset', data_root='{empty}', pipeline=[])"
    _fails(run_mgx("run", "train", str(tiny_config), "--no-track", "--cfg-options", override, cwd=tmp_path), 2,
           str(empty))


def test_image_that_fails_to_decode(tiny_config: Path, tmp_path: Path) -> None:
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    for index in range(4):
        Image.new("RGB", (16, 16), (index * 40, 0, 0)).save(folder / f"ok_{index}.png")
    (folder / "zz_broken.png").write_bytes(b"\x89PNG not really")
    pipeline = "[dict(type='LoadImageFromFile', key='img'), dict(type='PackInputs')]"
    override = (f"train_dataloader.dataset=dict(type='BasicImageDataset', data_root='{folder}', pipeline={pipeline})")
    _fails(run_mgx("run", "train", str(tiny_config), "--no-track", "--cfg-options", override,
                   "train_dataloader.batch_size=5", "train_dataloader.drop_last=False", cwd=tmp_path), 1,
           "zz_broken.png")


def test_batch_larger_than_dataset_with_drop_last(tiny_config: Path, tmp_path: Path) -> None:
    _fails(run_mgx("run", "train", str(tiny_config), "--no-track", "--cfg-options",
                   "train_dataloader.batch_size=5000", cwd=tmp_path), 2, "batch_size=5000", "drop_last")


@pytest.mark.parametrize("value", ["0", "-3"])
def test_val_interval_not_positive(tiny_config: Path, tmp_path: Path, value: str) -> None:
    _fails(run_mgx("run", "train", str(tiny_config), "--no-track", "--cfg-options", f"train_cfg.val_interval={value}",
                   cwd=tmp_path), 2, "val_interval", value)


def test_save_best_key_that_no_metric_produces(tiny_config: Path, tmp_path: Path) -> None:
    _fails(run_mgx("run", "train", str(tiny_config), "--no-track", "--work-dir", str(tmp_path / "w"),
                   "--cfg-options", "default_hooks.checkpoint.save_best=FID/fid", "train_cfg.max_iters=6",
                   cwd=tmp_path), 2, "save_best='FID/fid'", "SWD/16, SWD/avg")


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tiny_config: Path, tmp_path: Path) -> None:
    work = tmp_path / "w"
    overrides = ["model=dict(type='NaNAtIteration', nan_at=4)",
                 "optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1))", "val_evaluator=None",
                 "val_dataloader=None", "default_hooks.checkpoint.save_best=None"]
    _fails(run_mgx("run", "train", str(tiny_config), "--no-track", "--work-dir", str(work), "--cfg-options",
                   *overrides, cwd=tmp_path), 1, "loss=nan at iteration 4", "last good checkpoint")
    assert sorted(p.name for p in work.glob("*.pth")) == ["iter_1.pth", "iter_2.pth", "iter_3.pth"]
    assert torch.load(work / "iter_3.pth", weights_only=True)["meta"]["iteration"] == 3


def test_nan_between_log_lines_is_caught_before_the_next_checkpoint(tiny_config: Path, tmp_path: Path) -> None:
    # losses are read once per log line (10) or checkpoint (6); the NaN of iteration 8 is
    # still named exactly, and the checkpoint after it is never written
    work = tmp_path / "w"
    overrides = ["model=dict(type='NaNAtIteration', nan_at=8)", "default_hooks.logger.interval=10",
                 "default_hooks.checkpoint.interval=6", "train_cfg.max_iters=20",
                 "optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1))", "val_evaluator=None",
                 "val_dataloader=None", "default_hooks.checkpoint.save_best=None"]
    _fails(run_mgx("run", "train", str(tiny_config), "--no-track", "--work-dir", str(work), "--cfg-options",
                   *overrides, cwd=tmp_path), 1, "loss=nan at iteration 8", "last good checkpoint")
    assert sorted(p.name for p in work.glob("*.pth")) == ["iter_6.pth"]


def test_a_loss_that_is_not_a_scalar_is_named(tiny_config: Path, tmp_path: Path) -> None:
    overrides = ["model=dict(type='NaNAtIteration', nan_at=100, unreduced=True)", "val_evaluator=None",
                 "optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1))", "val_dataloader=None",
                 "default_hooks.checkpoint.save_best=None"]
    _fails(run_mgx("run", "train", str(tiny_config), "--no-track", "--work-dir", str(tmp_path / "w"),
                   "--cfg-options", *overrides, cwd=tmp_path), 1,
           "NaNAtIteration.train_step returned 'loss' with shape (", "losses must be scalars")


def test_amp_without_cuda_explains_bfloat16(tiny_config: Path, tmp_path: Path) -> None:
    result = run_mgx("run", "train", str(tiny_config), "--no-track", "--amp", "--work-dir", str(tmp_path / "w"),
                     "--cfg-options", "train_cfg.max_iters=2", "train_cfg.val_interval=100", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "bfloat16" in result.stderr and "no CUDA" in result.stderr


def test_no_space_left_while_saving_keeps_the_previous_checkpoint(tiny_config: Path, tmp_path: Path) -> None:
    """Each checkpoint grows by 1 MB; files may not exceed 2.5 MB, so the third write fails mid-way."""
    work = tmp_path / "w"
    config = write_tiny_config(tmp_path, name="grow.py", max_iters=6, val_interval=100,
                               extra="\ncustom_hooks = [dict(type='BulkyCheckpoints', megabytes=1, grow=True)]\n")

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (2_500_000, 2_500_000))

    result = subprocess.run(mgx_command("run", "train", str(config), "--no-track", "--work-dir", str(work)),
                            cwd=tmp_path, env=mgx_env(), capture_output=True, text=True, timeout=300,
                            preexec_fn=limit_file_size)
    _fails(result, 1, "could not write checkpoint", "iter_3.pth", "iter_2.pth is intact")
    assert not list(work.glob("*.tmp-*")), "no half-written file is left"
    assert torch.load(work / "iter_2.pth", weights_only=True)["meta"]["iteration"] == 2
    assert (work / "last_checkpoint").read_text() == "iter_2.pth"
