"""The sbatch script and srun line the slurm launcher writes (no cluster needed)."""
import subprocess
import sys

import pytest

from mgx.core.errors import ConfigError
from mgx.plugins.launchers.sbatch_script import render, resolve, signal_grace
from mgx.plugins.launchers.srun_task import derived_port, task_environment

WORKER = [sys.executable, "-m", "mgx.cli", "run", "train", "cfg with space.py", "--launcher", "local"]


def test_mmagic_defaults_and_variables():
    plan = resolve({}, "train", in_allocation=False, environ={})
    assert (plan.ntasks, plan.tasks_per_node, plan.cpus_per_task) == (8, 8, 5)
    assert plan.job_name == "mgx-train"
    env = {"GPUS": "16", "GPUS_PER_NODE": "8", "CPUS_PER_TASK": "4", "SRUN_ARGS": "--mem=1G --exclusive"}
    plan = resolve({}, "test", in_allocation=False, environ=env)
    assert (plan.ntasks, plan.tasks_per_node, plan.cpus_per_task) == (16, 8, 4)
    assert plan.srun_args == ["--mem=1G", "--exclusive"]
    plan = resolve({"gpus": 2, "cpus_per_task": 1, "srun_args": "--quiet", "job_name": "J",
                    "partition": "dev"}, "train", in_allocation=False, environ=env)
    assert (plan.ntasks, plan.tasks_per_node, plan.cpus_per_task, plan.srun_args) == (2, 2, 1, ["--quiet"])
    assert (plan.job_name, plan.partition) == ("J", "dev")


def test_inside_allocation_uses_the_allocation_sizes():
    plan = resolve({}, "train", in_allocation=True, environ={})
    assert plan.ntasks is None and plan.cpus_per_task is None
    argv = plan.srun_argv(["python", "w.py"], in_allocation=True)
    assert not any(a.startswith("--ntasks") for a in argv)
    plan = resolve({"gpus": 4}, "train", in_allocation=True, environ={})
    assert "--ntasks=4" in plan.srun_argv(["w"], in_allocation=True)


def test_bad_numbers_name_the_flag():
    with pytest.raises(ConfigError, match="--cpus-per-task"):
        resolve({"cpus_per_task": "many"}, "train", in_allocation=False, environ={})
    with pytest.raises(ConfigError, match="MGX_SLURM_SIGNAL_GRACE"):
        signal_grace({"MGX_SLURM_SIGNAL_GRACE": "soon"})


def test_script_directives_and_syntax(tmp_path):
    plan = resolve({"gpus": 2, "cpus_per_task": 1, "partition": "dev", "job_name": "J", "time": "00:10:00",
                    "master_port": 29611}, "train", in_allocation=False, environ={})
    plan.gres_per_node = 2
    log = tmp_path / "J-%j.out"
    text = render(plan, WORKER, log, grace_s=90)
    for directive in ["--job-name=J", "--partition=dev", "--ntasks=2", "--ntasks-per-node=2",
                      "--cpus-per-task=1", "--gres=gpu:2", "--time=00:10:00", "--requeue",
                      "--signal=B:USR1@90", "--open-mode=append", f"--output={log}"]:
        assert f"#SBATCH {directive}" in text
    assert "export MASTER_PORT=29611" in text
    assert "'cfg with space.py'" in text          # worker args are quoted
    assert "SLURM_RESTART_COUNT" in text and "RESUME=(--resume)" in text
    assert "trap 'kill -USR1 $STEP_PID" in text
    script = tmp_path / "job.sbatch"
    script.write_text(text)
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0


def test_no_second_resume_when_given(tmp_path):
    plan = resolve({"gpus": 1}, "train", in_allocation=False, environ={})
    text = render(plan, [*WORKER, "--resume"], tmp_path / "l", grace_s=10)
    assert "RESUME=(--resume)" not in text


def test_task_environment_maps_ranks_and_rendezvous():
    env = {"SLURM_PROCID": "1", "SLURM_NTASKS": "2", "SLURM_LOCALID": "1", "SLURM_JOB_ID": "4242",
           "SLURM_STEP_NODELIST": "vm"}
    extra = task_environment(env)
    assert extra["RANK"] == "1" and extra["WORLD_SIZE"] == "2" and extra["LOCAL_RANK"] == "1"
    assert extra["MASTER_ADDR"] == "vm" and extra["MASTER_PORT"] == str(derived_port(4242))
    assert 20000 <= derived_port(4242) < 40000
    assert "MASTER_PORT" not in task_environment({**env, "MASTER_PORT": "1234"})
