"""A run-hook plugin sees every lifecycle hook, in the documented order."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine_helpers import run_mgx, write_tiny_config


def _calls(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.timeout(300)
def test_train_and_test_fire_every_hook_in_order(tmp_path: Path) -> None:
    record = tmp_path / "hooks.jsonl"
    hooks = f"\ncustom_hooks = [dict(type='RecordingHook', path={str(record)!r})]\n"
    config = write_tiny_config(tmp_path, max_iters=4, val_interval=2, ckpt_interval=2, extra=hooks)
    work_dir = tmp_path / "work"
    result = run_mgx("run", "train", str(config), "--work-dir", str(work_dir), "--no-track", cwd=tmp_path)
    assert result.returncode == 0, result.stderr

    names = [call["hook"] for call in _calls(record)]
    step = ["before_train_iter", "after_train_iter"]
    validation = ["before_val", "after_val"]
    save = ["before_save_checkpoint"]
    # the first validation always gives a best checkpoint; then the periodic one (iter_2)
    head = ["before_run", "before_train_epoch"] + step + step + validation + save + save + step + step + validation
    assert names in (head + save + ["after_run"], head + save + save + ["after_run"]), names
    calls = _calls(record)
    assert [c["iteration"] for c in calls if c["hook"] == "before_train_iter"] == [0, 1, 2, 3]
    assert calls[-1] == {"hook": "after_run", "status": "FINISHED", "iteration": 4}
    assert all(c["metrics"] == ["SWD/16", "SWD/avg"] for c in calls if c["hook"] == "after_val")

    # resume from the iteration-2 checkpoint: the load hook fires before before_run
    record.unlink()
    result = run_mgx("run", "train", str(config), "--work-dir", str(work_dir), "--no-track",
                     "--resume", str(work_dir / "iter_2.pth"), "--cfg-options", "train_cfg.max_iters=3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    names = [call["hook"] for call in _calls(record)]
    assert names[:3] == ["after_load_checkpoint", "before_run", "before_train_iter"], names
    assert names[-1] == "after_run"

    record.unlink()
    result = run_mgx("run", "test", str(config), str(work_dir / "iter_4.pth"), "--work-dir", str(tmp_path / "test"),
                     "--no-track", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [c["hook"] for c in _calls(record)] == ["after_load_checkpoint", "before_run", "before_test",
                                                    "after_test", "after_run"]
    assert "SWD/avg:" in result.stderr
