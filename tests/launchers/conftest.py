"""Fixtures for launcher tests: a real one-node Slurm cluster (.ci/slurm/cluster.sh),
started once per session when a test needs it and stopped afterwards."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from launcher_helpers import E2E_MAX_ITERS, E2E_TRAIN_ARGS, TINY_CONFIG, run_mgx, metric_line_of

REPO = Path(__file__).resolve().parents[2]
CLUSTER = REPO / ".ci" / "slurm" / "cluster.sh"
TINY_WORKER = Path(__file__).with_name("tiny_worker.py")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """SLURM_CONF of a running one-node cluster (partition ``dev``). Skips when Slurm
    cannot be installed/started here — except under CI=true, where that fails."""
    state_dir = os.environ.get("MGX_SLURM_DIR", "/tmp/mgx-slurm")
    env = {**os.environ, "MGX_SLURM_DIR": state_dir}
    was_up = subprocess.run(["bash", str(CLUSTER), "status"], env=env, capture_output=True).returncode == 0
    if not was_up:
        started = subprocess.run(["bash", str(CLUSTER), "start"], env=env, capture_output=True, text=True,
                                 timeout=600)
        if started.returncode != 0:
            message = f"could not start the Slurm test cluster: {started.stderr.strip()[-2000:]}"
            if _in_ci():
                pytest.fail(message)
            pytest.skip(message)
    conf = f"{state_dir}/etc/slurm.conf"
    previous = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = conf
    os.environ["PATH"] = os.environ["PATH"] + os.pathsep + "/usr/sbin"
    yield conf
    if previous is None:
        os.environ.pop("SLURM_CONF", None)
    else:
        os.environ["SLURM_CONF"] = previous
    if not was_up:
        subprocess.run(["bash", str(CLUSTER), "stop"], env=env, capture_output=True, timeout=120)


@pytest.fixture
def tiny_worker():
    """Command prefix of the launcher-test worker (no mgx engine needed)."""
    return [sys.executable, str(TINY_WORKER)]


@pytest.fixture(scope="session")
def tiny_config(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("launcher-config") / "tiny.py"
    path.write_text(TINY_CONFIG)
    return path


@pytest.fixture(scope="session")
def dist_trained(tiny_config, tmp_path_factory):
    """The tiny config trained by 2 CPU processes through `--launcher dist` (uninterrupted):
    (work_dir, completed process, final checkpoint)."""
    work = tmp_path_factory.mktemp("dist-train")
    tracked = [arg for arg in E2E_TRAIN_ARGS if arg != "--no-track"]  # into work/mlflow.db
    result = run_mgx(["run", "train", str(tiny_config), "--launcher", "dist", "--gpus", "2", "--work-dir",
                      str(work), "--run-name", "dist-run", *tracked], cwd=work)
    return work, result, work / f"iter_{E2E_MAX_ITERS}.pth"


@pytest.fixture(scope="session")
def local_test_result(dist_trained, tiny_config, tmp_path_factory):
    """`mgx run test` of the dist-trained checkpoint in one process: (metric line, metrics dict)."""
    work, trained, checkpoint = dist_trained
    assert trained.returncode == 0, trained.stderr[-3000:]
    out = tmp_path_factory.mktemp("local-test")
    result = run_mgx(["run", "test", str(tiny_config), str(checkpoint), "--work-dir", str(out), "--no-track"],
                     cwd=out)
    assert result.returncode == 0, result.stderr[-3000:]
    return metric_line_of(result.stdout + result.stderr), \
        json.loads((out / "test_results.json").read_text())["metrics"]
