"""`mgx run train --resume-run RUN --launcher slurm`: a run recorded locally is continued as a
Slurm job in a fresh folder, in the same MLflow run (downloads happen before sbatch; the job's
workers read the files and resume with --resume, so a requeue picks the newest checkpoint)."""
from __future__ import annotations

import pytest
from mlflow import MlflowClient

from launcher_helpers import run_mgx
from mlflow_runs import every_run

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("slurm_cluster")]


@pytest.mark.timeout(500)
def test_resume_run_as_a_slurm_job_continues_the_same_run(tiny_config, tmp_path):
    source = run_mgx(["run", "train", str(tiny_config), "--work-dir", str(tmp_path / "src"), "--run-name", "to-slurm",
                      "--cfg-options", "train_cfg.max_iters=4"], cwd=tmp_path)
    assert source.returncode == 0, source.stderr[-3000:]
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    (run,) = every_run(client)

    job = run_mgx(["run", "train", "--resume-run", "to-slurm", "--work-dir", str(tmp_path / "fresh"),
                   "--launcher", "slurm", "--partition", "dev", "--gpus", "1", "--cpus-per-task", "1", "--wait",
                   "--cfg-options", "train_cfg.max_iters=6"], cwd=tmp_path, timeout=400)
    assert job.returncode == 0, job.stdout[-3000:] + job.stderr[-3000:]
    assert (tmp_path / "fresh" / "iter_6.pth").exists()
    (after,) = every_run(client)
    assert after.info.run_id == run.info.run_id and after.info.status == "FINISHED"
    assert after.data.tags["mgx.launcher"] == "slurm" and after.data.tags.get("mgx.slurm.job_id")
    assert after.data.tags["mgx.resumed_from_step"] == "4"
