"""``--launcher slurm``: MMagic's ``slurm_train.sh``/``slurm_test.sh`` as a launcher.

Outside an allocation (a login node): write an sbatch script into the work dir,
submit it, print the job id and log path; ``--wait`` follows the log and returns
the job's exit code. Inside one (SLURM_JOB_ID set, e.g. ``salloc``): run the
tasks with srun right here.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from mgx.core.errors import MgxError
from mgx.core.distributed.launch import JobArrayRequest, LaunchRequest, shell_join, worker_command

from . import slurm_commands
from .sbatch_script import decide_gres, render, resolve, signal_grace

POLL_S = 0.5


class SlurmLauncher:
    name = "slurm"
    accepted_options = frozenset({"gpus", "gpus_per_node", "cpus_per_task", "partition", "job_name",
                                  "srun_args", "time", "wait", "master_port"})

    def launch(self, request: LaunchRequest) -> int:
        if os.environ.get("SLURM_JOB_ID"):
            return self.run_in_allocation(request)
        return self.submit(request)

    # -- a sweep as one job array (mgx.core.distributed.launch.JobArrayLauncher) --
    def submit_array(self, request: JobArrayRequest) -> str:
        from .slurm_array import submit_array

        return submit_array(request)

    def array_tasks_left(self, job_id: str) -> dict[str, str] | None:
        return slurm_commands.array_task_states(job_id)

    def current_array_job_id(self) -> str | None:
        return os.environ.get("SLURM_ARRAY_JOB_ID")

    def task_is_being_requeued(self, job_id: str, task: str) -> bool:
        # inside a task whose job Slurm is requeueing, Restarts is already one more than the
        # SLURM_RESTART_COUNT this run of the task started with (measured with Slurm 22.05)
        status = slurm_commands.job_status(f"{job_id}_{task}")
        return status is not None and status.restarts > int(os.environ.get("SLURM_RESTART_COUNT") or 0)

    # -- inside an allocation ------------------------------------------------
    def run_in_allocation(self, request: LaunchRequest) -> int:
        slurm_commands.require("srun")
        plan = resolve(request.options, request.command, in_allocation=True)
        env = dict(os.environ)
        if plan.master_port:
            env["MASTER_PORT"] = str(plan.master_port)
        argv = plan.srun_argv(worker_command(request), in_allocation=True)
        print(f"mgx: inside Slurm job {env['SLURM_JOB_ID']}: {shell_join(argv)}", file=sys.stderr, flush=True)
        return subprocess.call(argv, env=env)

    # -- from a login node ---------------------------------------------------
    def submit(self, request: LaunchRequest) -> int:
        slurm_commands.require("sbatch")
        plan = resolve(request.options, request.command, in_allocation=False)
        decide_gres(plan)
        work_dir = Path(request.work_dir).resolve()
        work_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now().strftime("%Y%m%d_%H%M%S")
        script_path = work_dir / f"{plan.job_name}_{request.command}_{stamp}.sbatch"
        log_pattern = work_dir / f"{plan.job_name}-%j.out"
        script_path.write_text(render(plan, worker_command(request), log_pattern, grace_s=signal_grace()))
        job_id = slurm_commands.submit(str(script_path), plan.partition)
        log_path = Path(str(log_pattern).replace("%j", job_id))
        print(f"Submitted Slurm job {job_id} ({plan.ntasks} task(s), partition "
              f"{plan.partition or '(default)'}): script {script_path}\nlog: {log_path}", flush=True)
        if not request.options.get("wait"):
            print(f"Follow it with: tail -f {log_path}   (cancel: scancel {job_id})", flush=True)
            return 0
        return follow(job_id, log_path)


def follow(job_id: str, log_path: Path, out=None) -> int:
    """Print the job's log as it grows until the job is finished (a requeued job is
    followed through its restarts); the job's exit code."""
    out = out or sys.stdout
    offset = 0
    last_state = None
    try:
        while True:
            status = slurm_commands.job_status(job_id)
            offset = _copy_new(log_path, offset, out)
            if status is None:
                raise MgxError(f"Slurm no longer knows job {job_id}; its log is {log_path}")
            if status.state != last_state and status.state not in ("RUNNING", "COMPLETING"):
                reason = f" ({status.reason})" if status.reason not in ("", "None") else ""
                print(f"mgx: job {job_id} is {status.state}{reason}", file=sys.stderr, flush=True)
            last_state = status.state
            if status.finished:
                time.sleep(POLL_S)  # the last lines may land just after the state flips
                _copy_new(log_path, offset, out)
                return status.exit_code
            time.sleep(POLL_S)
    except KeyboardInterrupt:
        print(f"\nmgx: stopped following; job {job_id} keeps running (scancel {job_id} to stop it)",
              file=sys.stderr, flush=True)
        return 130


def _copy_new(path: Path, offset: int, out) -> int:
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            chunk = handle.read()
    except FileNotFoundError:
        return offset
    if chunk:
        out.write(chunk.decode(errors="replace"))
        out.flush()
    return offset + len(chunk)
