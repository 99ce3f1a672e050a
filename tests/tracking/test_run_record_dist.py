"""--from-run and --resume-run through the dist launcher (torchrun, two CPU processes): the
files are downloaded once, before the launcher, and every worker reads them."""
from __future__ import annotations

import pytest
from mlflow import MlflowClient

from run_record_helpers import run_mgx, write_tiny_config
from mlflow_runs import every_run

pytestmark = pytest.mark.slow


@pytest.mark.timeout(900)
def test_from_run_and_resume_run_with_the_dist_launcher(tmp_path):
    config = write_tiny_config(tmp_path, max_iters=4, val_interval=2, ckpt_interval=100)
    dist = ["--launcher", "dist", "--gpus", "2"]
    source = run_mgx("run", "train", str(config), "--work-dir", "src", "--run-name", "dist-src", *dist, cwd=tmp_path)
    assert source.returncode == 0, source.stderr[-3000:]
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    (run,) = every_run(client)

    resumed = run_mgx("run", "train", "--resume-run", "dist-src", "--work-dir", "fresh", *dist,
                      "--cfg-options", "train_cfg.max_iters=6", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert (tmp_path / "fresh/iter_6.pth").exists()
    (after,) = every_run(client)
    assert after.info.run_id == run.info.run_id and after.info.status == "FINISHED"
    assert after.data.tags["mgx.world_size"] == "2" and after.data.tags["mgx.resumed_from_step"] == "4"
    for key in after.data.metrics:
        steps = [m.step for m in client.get_metric_history(run.info.run_id, key)]
        assert len(steps) == len(set(steps)), f"{key}: {sorted(steps)}"

    rebuilt = run_mgx("run", "train", "--from-run", run.info.run_id[:10], "--work-dir", "again", *dist,
                      "--cfg-options", "train_cfg.max_iters=2", cwd=tmp_path)
    assert rebuilt.returncode == 0, rebuilt.stderr[-3000:]
    new = next(r for r in every_run(client) if r.info.run_id != run.info.run_id)
    assert new.info.status == "FINISHED" and new.data.tags["mgx.source_run_id"] == run.info.run_id
    assert new.data.tags["mgx.launcher"] == "dist"
