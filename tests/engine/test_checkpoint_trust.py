"""A checkpoint holding code is refused by name, never run, unless the user names the file as trusted."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mgx.core.engine.checkpoint import TRUST_ENV, CheckpointError, load_checkpoint

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "example_config.py"


class MakesAFolder:
    """Unpickling this calls os.mkdir: proof that code ran."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (os.mkdir, (str(self.target),))


def _malicious(tmp_path: Path) -> tuple[Path, Path]:
    proof = tmp_path / "code-ran"
    path = tmp_path / "evil.pth"
    torch.save({"model": {}, "payload": MakesAFolder(proof)}, path)
    return path, proof


def test_refusal_says_the_file_holds_code_and_how_to_allow_it(tmp_path, monkeypatch):
    monkeypatch.delenv(TRUST_ENV, raising=False)
    path, proof = _malicious(tmp_path)
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    message = str(caught.value)
    assert "holds code" in message and "refused for safety" in message
    assert "mkdir" in message  # what it would have called
    assert f"{TRUST_ENV}={path.resolve()}" in message
    assert "corrupt" not in message and "weights_only" not in message  # not torch's hint to flip the switch
    assert not proof.exists()


def test_trust_is_explicit_and_per_file(tmp_path, monkeypatch):
    path, proof = _malicious(tmp_path)
    monkeypatch.setenv(TRUST_ENV, str(tmp_path / "another.pth"))
    with pytest.raises(CheckpointError, match="holds code"):
        load_checkpoint(path)
    assert not proof.exists()
    monkeypatch.setenv(TRUST_ENV, os.pathsep.join([str(tmp_path / "another.pth"), str(path)]))
    with pytest.warns(RuntimeWarning, match="full unpickling"):
        state = load_checkpoint(path)
    assert proof.is_dir()  # the user asked for it: the file's code ran
    assert state["model"] == {}


def test_a_plain_mgx_checkpoint_loads_without_trust(tmp_path, monkeypatch):
    monkeypatch.delenv(TRUST_ENV, raising=False)
    path = tmp_path / "plain.pth"
    torch.save({"model": {"w": torch.ones(2)}, "meta": {"iteration": 3}}, path)
    assert load_checkpoint(path)["meta"] == {"iteration": 3}


def test_cli_names_the_refusal_without_traceback(tmp_path):
    path, proof = _malicious(tmp_path)
    env = {key: value for key, value in os.environ.items() if key != TRUST_ENV}
    result = subprocess.run([sys.executable, "-m", "mgx.cli", "run", "test", str(CONFIG), str(path), "--no-track",
                             "--work-dir", str(tmp_path / "wd")], capture_output=True, text=True, timeout=300,
                            cwd=tmp_path, env=env)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "holds code" in result.stderr and TRUST_ENV in result.stderr
    assert not proof.exists()
