"""Checkpoints tell the truth: a truncated newest checkpoint is named when resume skips it and
the marker is corrected; a kill during the final file's write is completed by --resume; random
bytes are reported as corrupt, not as a file holding code."""
from __future__ import annotations

import logging
import os
import shutil
import warnings
from pathlib import Path

import pytest
import torch

from engine_helpers import run_mgx, write_tiny_config

from mgx.core.engine.checkpoint import TRUST_ENV, CheckpointError, load_checkpoint, read_marker
from mgx.core.run.resume import start_point


def test_random_bytes_are_corrupt_not_untrusted(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "noise.pth"
    path.write_bytes(bytes(range(256)) * 8 + os.urandom(2048))
    with pytest.raises(CheckpointError) as refused:
        load_checkpoint(path)
    assert "corrupt" in str(refused.value) and TRUST_ENV not in str(refused.value)
    monkeypatch.setenv(TRUST_ENV, str(path))  # trusting it cannot help, and says so the same way
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(path)


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished 3-iteration training: iter_1..3 and the best checkpoint at iteration 3."""
    root = tmp_path_factory.mktemp("finished")
    config = write_tiny_config(root, max_iters=3, val_interval=3)
    result = run_mgx("run", "train", str(config), "--work-dir", "work", "--no-track", cwd=root)
    assert result.returncode == 0, result.stderr
    return root


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_truncated_newest_checkpoint_is_named_and_the_marker_corrected(finished: Path, tmp_path: Path) -> None:
    work_dir = tmp_path / "work"
    shutil.copytree(finished / "work", work_dir)
    (best,) = work_dir.glob("best_*.pth")
    best.unlink()
    _truncate(work_dir / "iter_3.pth")
    assert read_marker(work_dir) == work_dir / "iter_3.pth"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = start_point("auto", work_dir, logging.getLogger("test"))
    assert start.checkpoint[0] == work_dir / "iter_2.pth"
    named = [str(w.message) for w in caught if "iter_3.pth" in str(w.message)]
    assert named and "truncated or corrupt" in named[0], [str(w.message) for w in caught]
    assert read_marker(work_dir) == work_dir / "iter_2.pth"


def test_resume_completes_a_final_checkpoint_torn_by_a_kill(finished: Path, tmp_path: Path) -> None:
    work_dir = tmp_path / "work"
    shutil.copytree(finished / "work", work_dir)
    (best,) = work_dir.glob("best_*.pth")
    _truncate(work_dir / "iter_3.pth")
    resumed = run_mgx("run", "train", str(finished / "tiny.py"), "--work-dir", str(work_dir), "--no-track",
                      "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "iter_3.pth" in resumed.stderr and "final checkpoint" in resumed.stderr
    final = load_checkpoint(work_dir / "iter_3.pth")
    assert read_marker(work_dir) == work_dir / "iter_3.pth"
    assert final["meta"]["iteration"] == 3 and final["meta"]["kind"] == "last"
    for key, tensor in load_checkpoint(best)["model"].items():
        assert torch.equal(tensor, final["model"][key]), key
