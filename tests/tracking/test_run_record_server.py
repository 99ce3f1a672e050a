"""The run record through a real `mlflow server` on 127.0.0.1: a training registered on the
server is loaded in a fresh process, rebuilt with --from-run and continued with --resume-run
(artifacts and checksums downloaded over HTTP)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from mlflow import MlflowClient

from run_record_helpers import assert_identical, load_state, mgx_env, run_mgx, write_tiny_config
from test_model_registry import LOAD_SCRIPT
from tracking_helpers import LocalServer
from mlflow_runs import every_run


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_register_rerun_and_resume_through_a_tracking_server(tmp_path):
    (tmp_path / "server").mkdir()
    server = LocalServer(tmp_path / "server").start()
    try:
        url = server.url
        config = write_tiny_config(tmp_path, max_iters=4, val_interval=2, ckpt_interval=100)
        trained = run_mgx("run", "train", str(config), "--work-dir", "src", "--tracking-uri", url,
                          "--run-name", "served-src", "--cfg-options", "tracking.register_model=srv-gan",
                          cwd=tmp_path)
        assert trained.returncode == 0, trained.stderr
        client = MlflowClient(url, registry_uri=url)
        (source,) = every_run(client)

        loaded = subprocess.run([sys.executable, "-c", LOAD_SCRIPT, "models:/srv-gan/1", str(tmp_path / "w.pt")],
                                cwd=tmp_path, env=mgx_env(MLFLOW_TRACKING_URI=url), capture_output=True, text=True,
                                timeout=180)
        assert loaded.returncode == 0, loaded.stderr + "\n--- training stderr ---\n" + trained.stderr
        # the training printed its run's page on the server, in the model-training view
        printed = trained.stdout + trained.stderr
        assert (f"{url}/#/experiments/{source.info.experiment_id}/runs/{source.info.run_id}"
                "?workflowType=machine_learning") in printed, printed[-2000:]
        assert json.loads(loaded.stdout.strip().splitlines()[-1])["class"] == "DCGAN"
        best_state = load_state(next((tmp_path / "src").glob("best_*.pth")))
        for key, value in torch.load(tmp_path / "w.pt", weights_only=True).items():
            assert torch.equal(value, best_state["ema"][key]), key

        rerun = run_mgx("run", "train", "--from-run", "served-src", "--tracking-uri", url, "--work-dir", "rerun",
                        cwd=tmp_path)
        assert rerun.returncode == 0, rerun.stderr
        assert_identical(load_state(tmp_path / "src/iter_4.pth")["model"],
                         load_state(tmp_path / "rerun/iter_4.pth")["model"])
        rebuilt = next(r for r in every_run(client) if r.info.run_id != source.info.run_id)
        assert rebuilt.data.tags["mgx.source_run_id"] == source.info.run_id

        resumed = run_mgx("run", "train", "--resume-run", source.info.run_id[:8], "--tracking-uri", url,
                          "--work-dir", "elsewhere", "--cfg-options", "train_cfg.max_iters=6", cwd=tmp_path)
        assert resumed.returncode == 0, resumed.stderr
        assert (tmp_path / "elsewhere/iter_6.pth").exists()
        run = client.get_run(source.info.run_id)
        assert run.info.status == "FINISHED"
        for key in run.data.metrics:
            steps = [m.step for m in client.get_metric_history(source.info.run_id, key)]
            assert len(steps) == len(set(steps)), f"{key}: {sorted(steps)}"
        assert max(m.step for m in client.get_metric_history(source.info.run_id, "SWD/avg")) == 6
        assert len(every_run(client)) == 2  # the resume opened no third run
    finally:
        server.stop()
