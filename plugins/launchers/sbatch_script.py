"""The resolved Slurm settings of a run and the sbatch script / srun line they give.

Mirrors MMagic's ``tools/slurm_train.sh``: GPUS tasks, GPUS_PER_NODE tasks per
node, CPUS_PER_TASK cpus each, SRUN_ARGS passed to srun, ``--kill-on-bad-exit``.
"""
from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from mgx.core.distributed.launch import as_int, option_or_env, shell_join

from . import slurm_commands

# Seconds of warning before the time limit: Slurm sends USR1 to the batch shell,
# which forwards it to the tasks; the engine checkpoints after the current iteration.
SIGNAL_GRACE_ENV = "MGX_SLURM_SIGNAL_GRACE"
DEFAULT_SIGNAL_GRACE_S = 180


@dataclass
class SlurmPlan:
    job_name: str
    partition: str | None
    ntasks: int | None             # None: inside an allocation, srun uses the allocation's
    tasks_per_node: int | None
    cpus_per_task: int | None
    srun_args: list[str] = field(default_factory=list)
    time: str | None = None
    master_port: int | None = None
    gres_per_node: int | None = None   # --gres=gpu:N when the partition has GPUs

    def srun_argv(self, worker: list[str], *, in_allocation: bool) -> list[str]:
        """srun ... python -m mgx.plugins.launchers.srun_task -- WORKER."""
        argv = ["srun", "--kill-on-bad-exit=1"]
        if in_allocation:  # the batch script's srun inherits these from #SBATCH lines
            if self.ntasks is not None:
                argv.append(f"--ntasks={self.ntasks}")
            if self.tasks_per_node is not None and self.ntasks is not None:
                argv.append(f"--ntasks-per-node={self.tasks_per_node}")
            if self.cpus_per_task is not None:
                argv.append(f"--cpus-per-task={self.cpus_per_task}")
        argv += self.srun_args
        return [*argv, sys.executable, "-u", "-m", "mgx.plugins.launchers.srun_task", "--", *worker]


def resolve(options: dict, command: str, *, in_allocation: bool, environ=None) -> SlurmPlan:
    """Flags first, then MMagic's variables (GPUS, GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS),
    then MMagic's defaults (8, 8, 5) — inside an allocation, the allocation's sizes."""
    environ = os.environ if environ is None else environ
    gpus = option_or_env(options, "gpus", "GPUS", None if in_allocation else 8, environ)
    ntasks = as_int(gpus, "--gpus (GPUS)", minimum=1) if gpus is not None else None
    per_node = option_or_env(options, "gpus_per_node", "GPUS_PER_NODE", None if in_allocation else 8, environ)
    per_node = as_int(per_node, "--gpus-per-node (GPUS_PER_NODE)", minimum=1) if per_node is not None else None
    tasks_per_node = min(ntasks, per_node) if ntasks is not None and per_node is not None else None
    cpus = option_or_env(options, "cpus_per_task", "CPUS_PER_TASK", None if in_allocation else 5, environ)
    cpus = as_int(cpus, "--cpus-per-task (CPUS_PER_TASK)", minimum=1) if cpus is not None else None
    srun_args = option_or_env(options, "srun_args", "SRUN_ARGS", "", environ)
    srun_args = shlex.split(srun_args) if isinstance(srun_args, str) else list(srun_args)
    port = options.get("master_port")
    return SlurmPlan(
        job_name=str(options.get("job_name") or f"mgx-{command}"),
        partition=options.get("partition"),
        ntasks=ntasks, tasks_per_node=tasks_per_node, cpus_per_task=cpus, srun_args=srun_args,
        time=options.get("time"),
        master_port=as_int(port, "--master-port", 1, 65535) if port is not None else None,
    )


def decide_gres(plan: SlurmPlan) -> None:
    """Ask for GPUs only where the partition has them; a CPU partition runs CPU tasks."""
    has_gpus = slurm_commands.partition_has_gpus(plan.partition)
    if has_gpus:
        plan.gres_per_node = plan.tasks_per_node
    elif has_gpus is False:
        print(f"mgx: partition {plan.partition or '(default)'} has no GPUs: the {plan.ntasks} "
              f"task(s) run on CPU (gloo)", file=sys.stderr, flush=True)


def signal_grace(environ=None) -> int:
    environ = os.environ if environ is None else environ
    return as_int(environ.get(SIGNAL_GRACE_ENV, DEFAULT_SIGNAL_GRACE_S), SIGNAL_GRACE_ENV, minimum=1)


def sbatch_header(plan: SlurmPlan, log_path: Path, *, grace_s: int, array: str | None = None) -> str:
    """The ``#SBATCH`` lines of an mgx job (a job array's with ``array``): resources, log, requeue,
    USR1 ``grace_s`` seconds before the time limit."""
    directives = [f"--job-name={plan.job_name}"]
    if array is not None:
        directives.append(f"--array={array}")
    if plan.partition:
        directives.append(f"--partition={plan.partition}")
    directives.append(f"--ntasks={plan.ntasks}")
    if plan.tasks_per_node:
        directives.append(f"--ntasks-per-node={plan.tasks_per_node}")
    if plan.cpus_per_task:
        directives.append(f"--cpus-per-task={plan.cpus_per_task}")
    if plan.gres_per_node:
        directives.append(f"--gres=gpu:{plan.gres_per_node}")
    if plan.time:
        directives.append(f"--time={plan.time}")
    directives += [f"--output={log_path}", "--open-mode=append", f"--chdir={os.getcwd()}",
                   "--requeue", f"--signal=B:USR1@{grace_s}"]
    return "\n".join(f"#SBATCH {shlex.quote(d)}" for d in directives)


def step_lines(command: str) -> str:
    """Run ``command`` (an srun line) as the job step in the background, pass the signals Slurm
    sends the batch shell (--signal=B:USR1, scancel) on to it - srun forwards them to every task;
    the engine checkpoints and requeues - and leave its exit code in $STATUS."""
    return f"""{command} &
STEP_PID=$!
# signals Slurm sends this shell (--signal=B:USR1, scancel) go on to the step's tasks
trap 'kill -USR1 $STEP_PID 2>/dev/null' USR1
trap 'kill -TERM $STEP_PID 2>/dev/null' TERM
while kill -0 $STEP_PID 2>/dev/null; do wait $STEP_PID; done
wait $STEP_PID
STATUS=$?"""


def render(plan: SlurmPlan, worker: list[str], log_path: Path, *, grace_s: int) -> str:
    """The sbatch script: one srun step of ``worker`` per task, USR1/TERM forwarded to it,
    ``--resume`` added when Slurm restarts the job (requeue after preemption or node failure)."""
    header = sbatch_header(plan, log_path, grace_s=grace_s)
    port_line = f"export MASTER_PORT={plan.master_port}\n" if plan.master_port else ""
    resume = "" if "--resume" in worker else (
        'if [ "${SLURM_RESTART_COUNT:-0}" -gt 0 ]; then\n'
        '    echo "mgx: Slurm restart ${SLURM_RESTART_COUNT} of job ${SLURM_JOB_ID}: resuming from the latest checkpoint"\n'
        "    RESUME=(--resume)\n"
        "fi\n")
    srun = shell_join(plan.srun_argv(worker, in_allocation=False))
    return f"""#!/bin/bash
{header}
# Written by mgx: one task per GPU (or CPU process), each mapping SLURM_PROCID/
# SLURM_NTASKS/SLURM_LOCALID to RANK/WORLD_SIZE/LOCAL_RANK (srun_task).
export PYTHONUNBUFFERED=1
{port_line}RESUME=()
{resume}echo "mgx: job ${{SLURM_JOB_ID}} on ${{SLURM_JOB_NODELIST}}, ${{SLURM_NTASKS}} task(s), $(date -u +%FT%TZ)"
{step_lines(f'{srun} "${{RESUME[@]}}"')}
echo "mgx: job ${{SLURM_JOB_ID}} step finished with exit code $STATUS, $(date -u +%FT%TZ)"
exit $STATUS
"""
