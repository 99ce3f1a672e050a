"""`mgx run train` records one MLflow run (real SQLite store); a SIGKILL + `--resume` continues that run."""
from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from engine_helpers import mgx_command, mgx_env, run_mgx, write_tiny_config


def _artifacts(client, run_id: str, path: str = "") -> list[str]:
    found = []
    for item in client.list_artifacts(run_id, path or None):
        found += _artifacts(client, run_id, item.path) if item.is_dir else [item.path]
    return found


@pytest.mark.timeout(600)
def test_train_killed_and_resumed_is_one_run_with_continuing_metrics(tmp_path: Path) -> None:
    from mlflow import MlflowClient

    config = write_tiny_config(tmp_path, max_iters=12, val_interval=4, ckpt_interval=4,
                               extra="\ndefault_hooks['logger']['interval'] = 2\n")
    work = tmp_path / "work"
    args = ["run", "train", str(config), "--work-dir", str(work), "--experiment", "digits", "--run-name", "tiny-gan"]
    process = subprocess.Popen(mgx_command(*args), cwd=tmp_path, env=mgx_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not (work / "iter_8.pth").exists():
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)

    resumed = run_mgx(*args, "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("digits")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1, [r.info.run_id for r in runs]
    run = runs[0]
    assert run.info.status == "FINISHED" and run.info.run_name == "tiny-gan"
    assert run.data.params["model.type"] == "DCGAN" and run.data.params["train_cfg.max_iters"] == "12"
    assert run.data.tags["mgx.launcher"] == "local" and run.data.tags["mgx.config_file"] == "tiny.py"
    assert run.data.tags["mgx.resumed_from_step"] == "8"

    history = client.get_metric_history(run.info.run_id, "train/loss_gen")
    assert sorted({m.step for m in history}) == [2, 4, 6, 8, 10, 12], "the curve continues past the checkpoint"
    validation = client.get_metric_history(run.info.run_id, "SWD/avg")
    assert sorted({m.step for m in validation}) == [4, 8, 12]

    artifacts = _artifacts(client, run.info.run_id)
    assert any(path.endswith(".pth") for path in artifacts), artifacts
    assert sum(path.endswith(".png") for path in artifacts) >= 2, artifacts
    assert any(path.startswith("config/") for path in artifacts), artifacts
