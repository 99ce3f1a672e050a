"""Real Slurm (one-node test cluster): batch scripts as the slurm launcher writes them,
run with a tiny worker; submission errors; preemption (USR1 -> requeue -> resume)."""
import subprocess
import sys
from pathlib import Path

import pytest

from mgx.core.errors import ConfigError, MgxError
from mgx.core.distributed.launch import LaunchRequest
from mgx.plugins.launchers import slurm_commands
from mgx.plugins.launchers.sbatch_script import render, resolve
from mgx.plugins.launchers.slurm import SlurmLauncher, follow

from launcher_helpers import start_requeued_now, wait_for

pytestmark = pytest.mark.usefixtures("slurm_cluster")


def _submit(tmp_path, worker, grace_s=30, **options):
    plan = resolve({"gpus": 2, "cpus_per_task": 1, "partition": "dev", "job_name": "tiny", **options},
                   "train", in_allocation=False, environ={})
    log_pattern = tmp_path / "tiny-%j.out"
    script = tmp_path / "tiny.sbatch"
    script.write_text(render(plan, worker, log_pattern, grace_s=grace_s))
    job_id = slurm_commands.submit(str(script), plan.partition)
    return job_id, Path(str(log_pattern).replace("%j", job_id))


class _Sink:
    def __init__(self):
        self.text = ""

    def write(self, chunk):
        self.text += chunk

    def flush(self):
        pass


@pytest.mark.timeout(120)
def test_two_task_job_rendezvous(tmp_path, tiny_worker):
    job_id, log = _submit(tmp_path, [*tiny_worker, str(tmp_path)])
    sink = _Sink()
    assert follow(job_id, log, out=sink) == 0, log.read_text()
    assert "rank 0 sum 3" in sink.text and "rank 1 sum 3" in sink.text
    assert "local 1 master vm:" in sink.text or "local 1 master" in sink.text


@pytest.mark.timeout(120)
def test_failing_task_fails_the_job(tmp_path, tiny_worker):
    job_id, log = _submit(tmp_path, [*tiny_worker, str(tmp_path), "--fail-rank", "0"])
    sink = _Sink()
    assert follow(job_id, log, out=sink) != 0
    assert "tiny worker rank 0 fails on purpose" in sink.text


@pytest.mark.timeout(60)
def test_unknown_partition_relays_slurm(tmp_path):
    request = LaunchRequest("train", ["cfg.py"], tmp_path, {"partition": "no-such-partition", "gpus": 1,
                                                             "cpus_per_task": 1})
    with pytest.raises(ConfigError) as info:
        SlurmLauncher().launch(request)
    assert "invalid partition" in str(info.value).lower() and "dev" in str(info.value)


def test_slurm_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    with pytest.raises(MgxError, match="Slurm is missing"):
        SlurmLauncher().launch(LaunchRequest("train", ["cfg.py"], tmp_path, {"partition": "dev"}))


@pytest.mark.timeout(180)
@pytest.mark.parametrize("how", ["time-limit", "scancel-usr1-batch"])
def test_usr1_reaches_tasks_then_requeue_resumes(tmp_path, tiny_worker, how):
    worker = [*tiny_worker, str(tmp_path), "--preemptible"]
    if how == "time-limit":
        # --time=1 minute with a 50 s grace: Slurm itself sends USR1 to the batch shell ~10 s in.
        job_id, log = _submit(tmp_path, worker, grace_s=50, time="1")
    else:
        job_id, log = _submit(tmp_path, worker)
        wait_for(lambda: log.exists() and log.read_text().count(" sum 3") == 2, 60, "both ranks running")
        # The same by hand: USR1 to the batch shell only, which forwards it.
        subprocess.run(["scancel", "--signal=USR1", "--batch", job_id], check=True)
    start_requeued_now(job_id)
    sink = _Sink()
    assert follow(job_id, log, out=sink) == 0, log.read_text()
    for rank in (0, 1):
        assert (tmp_path / f"preempted-{rank}.txt").read_text().split() == ["SIGUSR1", "2"]
        assert (tmp_path / f"resumed-{rank}.txt").read_text().strip() == "1"
    text = log.read_text()
    assert "requeued=True" in text and "resume=True" in text


IN_ALLOCATION = """
import sys
from pathlib import Path
from mgx.core.distributed.launch import LaunchRequest
from mgx.plugins.launchers import slurm
out_dir, worker = sys.argv[1], sys.argv[2:]
slurm.worker_command = lambda request: worker  # the tiny worker stands in for `mgx run`
sys.exit(slurm.SlurmLauncher().launch(LaunchRequest("train", [], Path(out_dir), {"gpus": 2})))
"""


@pytest.mark.timeout(120)
def test_inside_an_allocation_runs_srun_directly(tmp_path, tiny_worker):
    proc = subprocess.run(["salloc", "--ntasks=2", "--cpus-per-task=1", "--quiet", sys.executable, "-c",
                           IN_ALLOCATION, str(tmp_path), *tiny_worker, str(tmp_path)],
                          capture_output=True, text=True, timeout=100)
    assert proc.returncode == 0, proc.stderr
    assert "inside Slurm job" in proc.stderr
    assert "rank 0 sum 3" in proc.stdout and "rank 1 sum 3" in proc.stdout
    assert not list(tmp_path.glob("*.sbatch"))  # nothing submitted
