"""`mgx runs compare` shows how two runs were launched (world size, launcher, AMP), not only config params."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from mgx.cli.context import plugin_manager
from mgx.cli.main import cli
from mgx.core.tracking import Tracker
from tracking_helpers import TINY_GAN_TRAIN, fast_settings

TINY_TRAIN = TINY_GAN_TRAIN + """
train_cfg = dict(by_epoch=False, max_iters=1)
randomness = dict(seed=3)
"""


@pytest.fixture(autouse=True)
def full_cli_plugins():
    """In-process `mgx` after a test that activated only some plugins: the CLI activates all of them again."""
    plugin_manager.cache_clear()
    yield
    plugin_manager.cache_clear()


def _compare(workspace, *refs: str) -> list[str]:
    result = CliRunner().invoke(cli, ["runs", "compare", *refs, "--workspace", str(workspace)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80, result.output
    return lines


def _row(lines: list[str], label: str) -> list[str]:
    return next(line for line in lines if line.startswith(label + "  ")).split()


def test_compare_shows_world_size_launcher_and_the_global_batch(workspace, tmp_path):
    for name, world, launcher in (("one-proc", "1", "local"), ("two-proc", "2", "pytorch")):
        tracker = Tracker.start(fast_settings(workspace=workspace, run_name=name), tmp_path / name,
                                config_flat={"train_dataloader.batch_size": "16"}, log_environment=False,
                                tags={"mgx.world_size": world, "mgx.launcher": launcher, "mgx.amp": "false"})
        tracker.finish()
    lines = _compare(workspace, "one-proc", "two-proc")
    assert "params: all 1 equal" in lines and "launch that differs:" in lines
    assert _row(lines, "world size")[2:] == ["1", "2"]
    assert _row(lines, "global batch")[2:] == ["16", "(1×16)", "32", "(2×16)"]
    assert _row(lines, "launcher")[1:] == ["local", "pytorch"]
    assert not any(line.startswith("amp  ") for line in lines)  # equal: not shown


def test_two_real_trainings_differing_only_in_amp(workspace, tmp_path, monkeypatch):
    monkeypatch.setenv("MGX_WORKSPACE", str(workspace))
    config = tmp_path / "tiny.py"
    config.write_text(TINY_TRAIN)
    for name, extra in (("plain", []), ("mixed", ["--amp"])):  # in-process: two interpreter starts cost 20 s here
        done = CliRunner().invoke(cli, ["run", "train", str(config), "--work-dir", str(tmp_path / name),
                                        "--run-name", name, *extra])
        assert done.exit_code == 0, done.output[-3000:]
    lines = _compare(workspace, "plain", "mixed")
    assert _row(lines, "amp")[1:] == ["false", "true"]
    assert not any(line.startswith(("world size", "launcher", "global batch")) for line in lines)
